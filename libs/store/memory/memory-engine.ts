import type {
  Compare,
  KvEngine,
  LeaseGrant,
  RangeOptions,
  RangeResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchOptions,
  WatchResponse,
} from '../engine';
import { TopoError, TopoErrorCode, interrupted, invalidArgument } from '../errors';
import { type Lease, LeaseTable } from './lease';
import { MvccStore, type RevisionEntry, type WriteBatch, copyKeyValue } from './mvcc';
import { WatchHub } from './watch';

export interface MemoryEngineOptions {
  /** How often an idle watch that asked for progress notifications gets one. Default 10 s. */
  progressIntervalMs?: number;
  /** Revisions of history kept for past reads and watch replay; older ones are compacted. Default 100000. */
  historyLimit?: number;
  /** Clock for lease deadlines, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** etcd's limit; beyond it a lease timer could not be represented anyway. */
const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

/**
 * An in-process KvEngine with etcd v3 semantics, as Vitess's memorytopo is for Go: tests,
 * demos and embedding run the same code paths as against etcd, with no etcd. Every call
 * runs synchronously inside one turn of the event loop, which is what makes each
 * transaction atomic and isolated here.
 */
export class MemoryEngine implements KvEngine {
  readonly name = 'memory';
  private readonly store: MvccStore;
  private readonly leases: LeaseTable;
  private readonly watches: WatchHub;
  private closed = false;

  constructor(options: MemoryEngineOptions = {}) {
    const historyLimit = options.historyLimit ?? 100_000;
    const progressIntervalMs = options.progressIntervalMs ?? 10_000;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw invalidArgument(`historyLimit ${historyLimit} must be a whole number >= 1`);
    }
    if (!(progressIntervalMs > 0)) throw invalidArgument(`progressIntervalMs ${progressIntervalMs} must be > 0`);
    const now = options.now ?? ((): number => Date.now());
    this.store = new MvccStore(historyLimit);
    this.leases = new LeaseTable(now, (lease) => this.expire(lease));
    this.watches = new WatchHub(this.store, progressIntervalMs);
  }

  /** Watches currently registered: started by a first read and not yet ended. */
  get watcherCount(): number {
    return this.watches.size;
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    this.assertOpen();
    const prefix = options.prefix ?? false;
    checkKey(key, prefix);
    checkPage(options);
    const after = options.after;
    let kvs = this.store.range(key, prefix, options.revision);
    if (after !== undefined) kvs = kvs.filter((kv) => kv.key > after);
    const before = options.before;
    if (before !== undefined) kvs = kvs.filter((kv) => kv.key < before);
    const more = options.limit !== undefined && kvs.length > options.limit;
    if (more) kvs = kvs.slice(0, options.limit);
    const result: RangeResult = { kvs: kvs.map((kv) => copyKeyValue(kv, options.keysOnly)), revision: this.store.revision };
    if (options.limit !== undefined) result.more = more;
    return result;
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.assertOpen();
    const failure = request.failure ?? [];
    checkBranch(request.success);
    checkBranch(failure);
    // Leases past their deadline expire before the compares are read, so compares and
    // lease checks see one consistent state.
    for (const op of [...request.success, ...failure]) {
      if (op.type === 'put' && op.lease) this.leases.live(op.lease);
    }
    const succeeded = request.compare.every((compare) => this.holds(compare));
    const ops = succeeded ? request.success : failure;
    for (const op of ops) {
      if (op.type === 'put' && op.lease && !this.leases.live(op.lease)) {
        throw new TopoError(TopoErrorCode.NoNode, `lease not found: ${op.lease.toString(16)}`);
      }
    }
    const batch = this.store.write();
    const results = ops.map((op) => this.apply(batch, op));
    this.publish(batch.commit());
    return { succeeded, revision: this.store.revision, results };
  }

  watch(key: string, options: WatchOptions = {}): AsyncIterable<WatchResponse> {
    // "From now" is fixed when watch() is called, not when iteration begins, so changes
    // made in between are delivered.
    const startRevision =
      options.startRevision !== undefined && options.startRevision > 0n ? options.startRevision : this.store.revision + 1n;
    const spec = {
      key,
      prefix: options.prefix ?? false,
      startRevision,
      progressNotify: options.progressNotify ?? false,
      signal: options.signal,
    };
    return { [Symbol.asyncIterator]: () => this.watches.open(spec) };
  }

  async leaseGrant(ttlSeconds: number): Promise<LeaseGrant> {
    this.assertOpen();
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LEASE_TTL_SECONDS) {
      throw invalidArgument(`lease TTL ${ttlSeconds} must be a whole number of seconds in [1, ${MAX_LEASE_TTL_SECONDS}]`);
    }
    const lease = this.leases.grant(ttlSeconds);
    return { id: lease.id, ttlSeconds: lease.ttlSeconds };
  }

  async leaseKeepAlive(id: bigint): Promise<number> {
    this.assertOpen();
    const lease = this.leases.live(id);
    if (!lease) throw new TopoError(TopoErrorCode.NoNode, `lease not found: ${id.toString(16)}`);
    this.leases.refresh(lease);
    return lease.ttlSeconds;
  }

  async leaseTimeToLive(id: bigint): Promise<number> {
    this.assertOpen();
    const lease = this.leases.live(id);
    return lease ? Math.ceil(this.leases.remainingMs(lease) / 1000) : -1;
  }

  async leaseRevoke(id: bigint): Promise<void> {
    this.assertOpen();
    const lease = this.leases.remove(id);
    if (lease) this.deleteLeaseKeys(lease);
  }

  async compact(revision: bigint): Promise<void> {
    this.assertOpen();
    this.store.compact(revision);
  }

  /** The memory backend has no quota and no alarms. */
  async alarms(): Promise<string[]> {
    this.assertOpen();
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.leases.close();
    this.watches.close(interrupted('memory engine closed'));
  }

  private assertOpen(): void {
    if (this.closed) throw new TopoError(TopoErrorCode.Unavailable, 'memory engine is closed');
  }

  private holds(compare: Compare): boolean {
    const kv = this.store.latest(compare.key);
    return (kv ? kv[compare.field] : 0n) === compare.equals;
  }

  private apply(batch: WriteBatch, op: TxnOp): TxnOpResult {
    switch (op.type) {
      case 'put': {
        const lease = op.lease ?? 0n;
        const previous = batch.put(op.key, new Uint8Array(op.value), lease);
        if (previous?.lease && previous.lease !== lease) this.leases.detach(previous.lease, op.key);
        if (lease) this.leases.attach(lease, op.key);
        return { kvs: [] };
      }
      case 'delete': {
        const deleted = batch.delete(op.key, op.prefix ?? false);
        for (const kv of deleted) {
          if (kv.lease) this.leases.detach(kv.lease, kv.key);
        }
        return { kvs: deleted.map((kv) => copyKeyValue(kv)) };
      }
      case 'get':
        return { kvs: batch.get(op.key, op.prefix ?? false).map((kv) => copyKeyValue(kv)) };
    }
  }

  private expire(lease: Lease): void {
    if (this.leases.remove(lease.id)) this.deleteLeaseKeys(lease);
  }

  /** One revision for all the keys of a lease, in key order, as etcd's lessor revokes. */
  private deleteLeaseKeys(lease: Lease): void {
    const batch = this.store.write();
    const keys = [...lease.keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) batch.delete(key, false);
    this.publish(batch.commit());
  }

  private publish(entry: RevisionEntry | undefined): void {
    if (entry) this.watches.publish(entry);
  }
}

function checkKey(key: string, prefix: boolean): void {
  if (key === '' && !prefix) throw invalidArgument('key is not provided');
}

/**
 * etcd refuses a branch that writes one key twice (two puts, or a put inside a deleted
 * range), whichever branch runs, because the result would depend on op order.
 */
function checkBranch(ops: TxnOp[]): void {
  const puts = new Set<string>();
  const deletes: { key: string; prefix: boolean }[] = [];
  for (const op of ops) {
    checkKey(op.key, op.type !== 'put' && (op.prefix ?? false));
    if (op.type === 'delete') deletes.push({ key: op.key, prefix: op.prefix ?? false });
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const deleted = deletes.some((range) => (range.prefix ? op.key.startsWith(range.key) : op.key === range.key));
    if (puts.has(op.key) || deleted) throw invalidArgument('duplicate key given in txn request');
    puts.add(op.key);
  }
}

function checkPage(options: RangeOptions): void {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw invalidArgument(`range limit ${options.limit} must be a whole number >= 1`);
  }
  if ((options.after !== undefined || options.before !== undefined) && !options.prefix) {
    throw invalidArgument('range after and before need a prefix range');
  }
}
