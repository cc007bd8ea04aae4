/**
 * The topology store: Vitess's topo.Conn in TypeScript. One interface, implemented once in
 * `core/` over any `KvEngine` plugin. Paths are relative to the store's root, segments
 * separated by '/', validated by `paths.ts` before anything reaches the backend.
 *
 * A version is the etcd mod revision of the write that produced the value.
 */
export type Version = bigint;

export interface DirEntry {
  name: string;
  type: 'file' | 'directory';
  /** Bound to a lease: it disappears when its owner stops keeping the lease alive. */
  ephemeral: boolean;
}

export interface VersionedValue {
  contents: Uint8Array;
  version: Version;
}

export interface KVInfo extends VersionedValue {
  path: string;
}

/** Proof of holding a lock, carried by writes that must not outlive the lock. */
export interface Fence {
  /** The lock key, relative to the store root. */
  lockPath: string;
  /** The lock key's create revision: the fencing token of this grant. */
  token: bigint;
  /**
   * Set on the fence of a lock held by this process: aborted once the grant is over
   * (unlocked, lost, or its caller gone). Fenced writes are then refused with LockLost before
   * they reach the backend, so a request whose caller gave up never commits afterwards.
   */
  ended?: AbortSignal;
}

export interface WriteOptions {
  /** Rejected (LockLost) in the same transaction when this lock is no longer held. */
  fence?: Fence;
  /** Bind the value to this lease: it is deleted when the lease ends (ephemeral). */
  lease?: bigint;
}

export interface WatchOptions {
  /** Aborting ends the watch with TopoError Interrupted. */
  signal?: AbortSignal;
}

export interface FileWatch {
  current: VersionedValue;
  /** Later values in order. Ends by throwing NoNode (deleted), Interrupted (cancelled) or Compacted. */
  changes: AsyncIterable<VersionedValue>;
}

export type RecursiveChange =
  | { type: 'put'; path: string; contents: Uint8Array; version: Version }
  | { type: 'delete'; path: string; version: Version };

/** All changes of one backend transaction, in order. An empty batch is a progress mark. */
export interface RecursiveBatch {
  revision: bigint;
  changes: RecursiveChange[];
}

export interface RecursiveWatchOptions extends WatchOptions {
  /**
   * Resume: deliver changes from this revision on, with no snapshot. Throws Compacted when
   * the revision is no longer in the backend's history.
   */
  fromRevision?: bigint;
  /** Ask the backend for progress marks (empty batches) on idle watches. */
  progressNotify?: boolean;
}

export interface RecursiveWatch {
  /** Snapshot at `revision` (empty when resuming with fromRevision). */
  current: KVInfo[];
  revision: bigint;
  /** Ends by throwing Interrupted (cancelled) or Compacted (history lost: re-list). */
  changes: AsyncIterable<RecursiveBatch>;
}

export interface ListPageOptions {
  /** At most this many files; `more` says whether others follow. Unset: all of them. */
  limit?: number;
  /** Only files whose path sorts after this one: the last path of the previous page. */
  after?: string;
  /** Only files whose path sorts at or before this one. */
  through?: string;
  /**
   * Read the store as it was at this revision (the first page's), so that every page of one
   * listing sees one state. Compacted when that revision is no longer in history.
   */
  revision?: bigint;
}

export interface ListPage {
  /** Sorted by path, byte order. */
  items: KVInfo[];
  /** The revision this page was read at: pass it back with the next page. */
  revision: bigint;
  /** Files past the last one returned exist. */
  more: boolean;
}

/** One write of a multi-file transaction. */
export type CommitOp =
  | { type: 'put'; path: string; contents: Uint8Array; lease?: bigint }
  | { type: 'delete'; path: string };

export interface CommitRequest {
  /**
   * Every file named must be at exactly this version; version 0n means "must not exist".
   * BadVersion (naming the first path that moved) otherwise, and nothing is written.
   */
  expect: Array<{ path: string; version: Version }>;
  ops: CommitOp[];
  fence?: Fence;
}

export interface LockOptions {
  /** Give up waiting after this long with TopoError Timeout. */
  timeoutMs?: number;
  /**
   * The caller's cancellation: aborting a wait ends it with TopoError Interrupted, and
   * aborting while a kept-alive lock is held releases it (the caller is gone; writes fenced
   * by it stop at once).
   */
  signal?: AbortSignal;
  /** Lease TTL of the lock; kept alive while held. */
  ttlSeconds?: number;
  /**
   * false: once granted, the lock is left to its TTL (no keepalive, no watching); it ends
   * when the TTL runs out or someone releases it by path and token. For callers that
   * cannot hold a stream open.
   */
  keepAlive?: boolean;
  /** lockName only: take the lock only if nobody holds or waits for it, else NodeExists (as tryLock). */
  tryOnly?: boolean;
}

export interface LockDescriptor {
  /** The lock key, relative to the store root. */
  readonly path: string;
  /** Fencing token: the lock key's create revision. Increases with every grant of a lock. */
  readonly token: bigint;
  readonly fence: Fence;
  readonly leaseId: bigint;
  /** Aborted as soon as the lock is known to be lost (lease expired or key removed). */
  readonly lost: AbortSignal;
  /** Resolves if the lock is still held; throws LockLost otherwise. */
  check(): Promise<void>;
  /**
   * Releases the lock, retrying an unreachable backend within the request timeout and
   * revoking the lease in any case. Throws NoNode when it was already released, LockLost
   * when it had been lost, Unavailable when the backend could not be reached at all (the
   * lease then runs out by itself).
   */
  unlock(): Promise<void>;
}

export interface LeaderParticipation {
  /**
   * Resolves once this participant is the leader, with a signal aborted when leadership is
   * lost or stop() is called. Throws Interrupted when stop() is called before that.
   */
  waitForLeadership(): Promise<AbortSignal>;
  /** Stop participating; releases leadership if held. */
  stop(): Promise<void>;
  /** The id of the current leader, '' when there is none. */
  getCurrentLeaderId(): Promise<string>;
  /** While this participant leads: the lock its leadership is (releasing it resigns). */
  leadership(): LockDescriptor | undefined;
  /** The current leader id, then every change of leader, until the signal aborts. */
  waitForNewLeader(signal?: AbortSignal): AsyncIterable<string>;
}

export interface LeaseInfo {
  id: bigint;
  ttlSeconds: number;
}

export interface Store {
  readonly root: string;
  readonly backend: string;

  /** Entries of a directory, sorted by name. Throws NoNode when the directory is empty or missing. */
  listDir(dirPath: string): Promise<DirEntry[]>;
  /** Throws NodeExists when the file exists. */
  create(filePath: string, contents: Uint8Array, options?: WriteOptions): Promise<Version>;
  /**
   * Compare-and-swap on version; with version null the write is an upsert.
   * Throws BadVersion (version mismatch), NoNode (missing with a version given), LockLost.
   */
  update(filePath: string, contents: Uint8Array, version: Version | null, options?: WriteOptions): Promise<Version>;
  get(filePath: string): Promise<VersionedValue>;
  /** The contents the file had at `version`. Throws NoNode when it did not exist then, Compacted when too old. */
  getVersion(filePath: string, version: Version): Promise<Uint8Array>;
  /**
   * Every file whose path starts with `prefix`. A prefix ending in '/' matches only inside
   * that directory ('ks1/' never matches 'ks10/...').
   */
  list(prefix: string): Promise<KVInfo[]>;
  /** One page of `list(prefix)`, for listings too large for one answer. */
  listPage(prefix: string, options: ListPageOptions): Promise<ListPage>;
  /** The backend's revision now: one cheap read (a watch hub checks a client's resume point with it). */
  currentRevision(): Promise<Version>;
  /** Throws NoNode, BadVersion, NodeNotEmpty (a directory), LockLost. */
  delete(filePath: string, version: Version | null, options?: WriteOptions): Promise<void>;

  /**
   * Several writes in one backend transaction: all or none, guarded by versions and an
   * optional fence. Resolves to the transaction's revision.
   */
  commit(request: CommitRequest): Promise<Version>;

  watch(filePath: string, options?: WatchOptions): Promise<FileWatch>;
  watchRecursive(prefix: string, options?: RecursiveWatchOptions): Promise<RecursiveWatch>;

  /** Waits in FIFO order for the lock on an existing directory (NoNode when missing). */
  lock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor>;
  /** Takes the lock only if nobody holds or waits for it; otherwise NodeExists. */
  tryLock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor>;
  /** A lock on a path that need not exist, with a long TTL (for named operations); `tryOnly` as tryLock. */
  lockName(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor>;

  newLeaderParticipation(name: string, id: string): LeaderParticipation;

  grantLease(ttlSeconds: number): Promise<LeaseInfo>;
  /** Resolves to the TTL; throws NoNode when the lease no longer exists. */
  keepAliveLease(id: bigint): Promise<number>;
  revokeLease(id: bigint): Promise<void>;
  /** Seconds the lease has left, without refreshing it; -1 when it no longer exists. */
  leaseTimeToLive(id: bigint): Promise<number>;

  /** Alarms the backend has raised (etcd NOSPACE: writes refused), empty when none. */
  alarms(): Promise<string[]>;

  close(): Promise<void>;
}
