/**
 * The key-value engine seam. A store plugin provides one engine: an MVCC key-value store
 * with etcd v3 semantics (revisions, transactions with compares, leases, watches from a
 * revision). Everything Vitess's topo.Conn offers (files, directories, locks, elections)
 * is built once on top of it in `core/`, so every plugin gets the same behaviour and the
 * conformance suite checks the engine through that one layer.
 *
 * Revisions, versions and lease IDs are bigint end to end: etcd's are 64-bit.
 */

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the transaction that created the key (0n never appears for a live key). */
  createRevision: bigint;
  /** Revision of the last transaction that modified the key. */
  modRevision: bigint;
  /** Number of modifications since creation, starting at 1. */
  version: bigint;
  /** Lease the key is bound to, 0n when none. */
  lease: bigint;
}

export interface RangeOptions {
  /** Match every key that starts with `key` (not only `key` itself). */
  prefix?: boolean;
  /** Read the store as it was at this revision; throws Compacted when older than history. */
  revision?: bigint;
  /** Skip values (values come back empty). */
  keysOnly?: boolean;
  /** With prefix: only keys that sort after this one (a continuation from a previous page). */
  after?: string;
  /** With prefix: only keys that sort before this one. */
  before?: string;
  /**
   * At most this many keys, and `more` says whether others follow. Without a limit the
   * whole range comes back, read page by page at one revision by engines that must.
   */
  limit?: number;
}

export interface RangeResult {
  /** Sorted by key, byte order. */
  kvs: KeyValue[];
  /** The store revision the read was served at. */
  revision: bigint;
  /** With a limit: keys past the last one returned exist in the range. */
  more?: boolean;
}

/** A transaction guard; all compares of a transaction must hold for the success branch. */
export interface Compare {
  key: string;
  /** createRevision 0n and modRevision 0n both mean "key does not exist". */
  field: 'createRevision' | 'modRevision';
  equals: bigint;
}

export type TxnOp =
  | { type: 'put'; key: string; value: Uint8Array; lease?: bigint }
  | { type: 'delete'; key: string; prefix?: boolean }
  | { type: 'get'; key: string; prefix?: boolean };

export interface TxnOpResult {
  /** For 'get': matching keys. For 'delete': the keys that were deleted (previous values). */
  kvs: KeyValue[];
}

export interface TxnRequest {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** The store revision after the transaction (unchanged when nothing was written). */
  revision: bigint;
  /** One result per op of the branch that ran, in order. */
  results: TxnOpResult[];
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: key, and modRevision = the delete's revision; value empty. */
  kv: KeyValue;
}

/**
 * One response of a watch: the events of exactly one revision (one transaction), or a
 * progress notification (no events) saying the watch has seen everything up to `revision`.
 */
export interface WatchResponse {
  revision: bigint;
  events: WatchEvent[];
}

export interface WatchOptions {
  prefix?: boolean;
  /** First revision to deliver. Omitted: changes after the current revision. */
  startRevision?: bigint;
  /** Ask for periodic progress notifications on an idle watch. */
  progressNotify?: boolean;
  /** Aborting ends the iteration with TopoError Interrupted. */
  signal?: AbortSignal;
}

export interface LeaseGrant {
  id: bigint;
  ttlSeconds: number;
}

export interface KvEngine {
  readonly name: string;

  range(key: string, options?: RangeOptions): Promise<RangeResult>;

  txn(request: TxnRequest): Promise<TxnResult>;

  /**
   * Events in revision order, each revision exactly once, grouped by revision. Survives
   * backend restarts by resuming from the last delivered revision. Ends by throwing:
   * Compacted when the revision to resume from is no longer in history, Interrupted when
   * the signal aborts.
   */
  watch(key: string, options?: WatchOptions): AsyncIterable<WatchResponse>;

  leaseGrant(ttlSeconds: number): Promise<LeaseGrant>;
  /** Refreshes the lease; resolves to the new TTL. Throws NoNode when the lease is gone. */
  leaseKeepAlive(id: bigint): Promise<number>;
  /** Remaining TTL in seconds, or -1 when the lease does not exist. */
  leaseTimeToLive(id: bigint): Promise<number>;
  /** Deletes the lease and every key bound to it. A missing lease is not an error. */
  leaseRevoke(id: bigint): Promise<void>;

  /** Drops history older than `revision`. */
  compact(revision: bigint): Promise<void>;

  /**
   * Alarms the backend has raised (etcd: NOSPACE, CORRUPT), each naming its member; empty
   * when there are none. Health reports them.
   */
  alarms(): Promise<string[]>;

  close(): Promise<void>;
}
