import type { LeaseInfo, Store } from '../../store';

/** How many granted leases wait per TTL. */
const POOL_SIZE = 32;

interface Pooled extends LeaseInfo {
  grantedAt: number;
}

/**
 * Leases granted ahead of the registrations that take them, so a registration is one etcd
 * transaction rather than a grant and then a transaction. A waiting lease counts down its
 * TTL with nobody keeping it alive, so one is handed out only while at most a quarter of
 * its TTL has passed: the tablet's first keepalive (due every third of the TTL) still
 * finds it. Older ones are dropped (they expire by themselves: nothing is bound to them).
 * A take grants a replacement in the background only while registrations come often
 * (the previous take was less than an eighth of the TTL before): a lone registration costs
 * no lease that nobody will use.
 */
export class LeasePool {
  private readonly pools = new Map<number, Pooled[]>();
  private readonly refilling = new Map<number, number>();
  private readonly lastTake = new Map<number, number>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** A lease of `ttlSeconds`: a waiting one when fresh enough, else one granted now. */
  async take(ttlSeconds: number): Promise<LeaseInfo> {
    const pool = this.pools.get(ttlSeconds) ?? [];
    this.pools.set(ttlSeconds, pool);
    const freshAfter = this.now() - (ttlSeconds * 1000) / 4;
    while (pool.length > 0 && pool[0].grantedAt < freshAfter) pool.shift();
    const pooled = pool.shift();
    const now = this.now();
    const previous = this.lastTake.get(ttlSeconds);
    this.lastTake.set(ttlSeconds, now);
    if (previous !== undefined && now - previous < (ttlSeconds * 1000) / 8) this.refill(ttlSeconds);
    if (pooled) return { id: pooled.id, ttlSeconds: pooled.ttlSeconds };
    return this.store.grantLease(ttlSeconds);
  }

  private refill(ttlSeconds: number): void {
    const pool = this.pools.get(ttlSeconds)!;
    const inFlight = this.refilling.get(ttlSeconds) ?? 0;
    if (pool.length + inFlight >= POOL_SIZE) return;
    this.refilling.set(ttlSeconds, inFlight + 1);
    const grantedAt = this.now();
    this.store.grantLease(ttlSeconds).then(
      (lease) => {
        this.refilling.set(ttlSeconds, (this.refilling.get(ttlSeconds) ?? 1) - 1);
        pool.push({ ...lease, grantedAt });
      },
      () => this.refilling.set(ttlSeconds, (this.refilling.get(ttlSeconds) ?? 1) - 1),
    );
  }
}
