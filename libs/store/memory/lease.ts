export interface Lease {
  readonly id: bigint;
  readonly ttlSeconds: number;
  /** Clock time (ms) at which the lease expires unless refreshed first. */
  deadline: number;
  /** Keys currently bound to the lease. */
  readonly keys: Set<string>;
  timer: NodeJS.Timeout | undefined;
}

/** setTimeout fires at once for longer delays; a long lease re-arms its timer instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Leases with TTLs. A timer per lease calls `onExpire` at its deadline; the deadline is
 * checked against the clock, not trusted to the timer, so an injected clock and a late
 * timer both give the right answer. Timers are unref'd: leases never keep a process alive.
 */
export class LeaseTable {
  private readonly leases = new Map<bigint, Lease>();
  private lastId = 0n;

  constructor(
    private readonly now: () => number,
    private readonly onExpire: (lease: Lease) => void,
  ) {}

  grant(ttlSeconds: number): Lease {
    this.lastId += 1n;
    const lease: Lease = { id: this.lastId, ttlSeconds, deadline: 0, keys: new Set(), timer: undefined };
    this.leases.set(lease.id, lease);
    this.refresh(lease);
    return lease;
  }

  /**
   * The lease when it exists and has time left. One found past its deadline (its timer not
   * run yet) expires now, as etcd makes a renewal of an expired lease wait for its revocation.
   */
  live(id: bigint): Lease | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    if (this.now() >= lease.deadline) {
      this.onExpire(lease);
      return undefined;
    }
    return lease;
  }

  refresh(lease: Lease): void {
    lease.deadline = this.now() + lease.ttlSeconds * 1000;
    this.arm(lease);
  }

  remainingMs(lease: Lease): number {
    return lease.deadline - this.now();
  }

  /** Forgets the lease and stops its timer; its keys are the caller's to delete. */
  remove(id: bigint): Lease | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    clearTimeout(lease.timer);
    this.leases.delete(id);
    return lease;
  }

  attach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  close(): void {
    for (const lease of this.leases.values()) clearTimeout(lease.timer);
    this.leases.clear();
  }

  private arm(lease: Lease): void {
    clearTimeout(lease.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, lease.deadline - this.now()));
    lease.timer = setTimeout(() => this.fire(lease), delay);
    lease.timer.unref();
  }

  private fire(lease: Lease): void {
    if (this.leases.get(lease.id) !== lease) return;
    if (this.now() >= lease.deadline) this.onExpire(lease);
    else this.arm(lease);
  }
}
