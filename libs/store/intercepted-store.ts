/**
 * The one seam where cross-cutting concerns (metrics, traces) see store operations, as
 * Vitess's StatsConn wraps a topo.Conn: every call of the Store interface, and the unlock
 * of every lock it grants, goes through each interceptor under the operation's name.
 * Interceptors nest in the order given (the first is outermost).
 */
import type {
  CommitRequest,
  DirEntry,
  FileWatch,
  KVInfo,
  LeaderParticipation,
  LeaseInfo,
  ListPage,
  ListPageOptions,
  LockDescriptor,
  LockOptions,
  RecursiveWatch,
  RecursiveWatchOptions,
  Store,
  Version,
  VersionedValue,
  WatchOptions,
  WriteOptions,
} from './store';

/** Operation names as Vitess's StatsConn labels them, plus this store's own calls. */
export type StoreOperation =
  | 'ListDir'
  | 'Create'
  | 'Update'
  | 'Get'
  | 'GetVersion'
  | 'CurrentRevision'
  | 'List'
  | 'ListPage'
  | 'Delete'
  | 'Commit'
  | 'Watch'
  | 'WatchRecursive'
  | 'Lock'
  | 'TryLock'
  | 'LockName'
  | 'Unlock'
  | 'GrantLease'
  | 'KeepAliveLease'
  | 'RevokeLease'
  | 'LeaseTimeToLive'
  | 'Alarms';

export interface StoreCall {
  operation: StoreOperation;
  /** The path the operation names (a lock's directory, a watch's prefix); '' for leases. */
  path: string;
  /** Unlock: the fencing token of the grant being released. */
  token?: bigint;
  /** KeepAliveLease, RevokeLease: the lease. */
  leaseId?: bigint;
  /** Lock, TryLock, LockName: the options asked for. */
  lockOptions?: LockOptions;
}

/** Runs `next` (the rest of the chain and the store) and returns what it returns. */
export type StoreInterceptor = <T>(call: StoreCall, next: () => Promise<T>) => Promise<T>;

/** Sees leader participations, which are not calls but long-lived handles. */
export type ParticipationObserver = (name: string, id: string, participation: LeaderParticipation) => LeaderParticipation;

export interface StoreInterceptors {
  calls: StoreInterceptor[];
  participations?: ParticipationObserver[];
}

export function interceptStore(store: Store, interceptors: StoreInterceptors): Store {
  if (interceptors.calls.length === 0 && !interceptors.participations?.length) return store;
  return new InterceptedStore(store, interceptors);
}

class InterceptedStore implements Store {
  private readonly run: <T>(call: StoreCall, fn: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly inner: Store,
    private readonly interceptors: StoreInterceptors,
  ) {
    const chain = interceptors.calls;
    this.run = <T>(call: StoreCall, fn: () => Promise<T>): Promise<T> => {
      const step = (i: number): Promise<T> => (i === chain.length ? fn() : chain[i]!(call, () => step(i + 1)));
      return step(0);
    };
  }

  get root(): string {
    return this.inner.root;
  }

  get backend(): string {
    return this.inner.backend;
  }

  listDir(dirPath: string): Promise<DirEntry[]> {
    return this.run({ operation: 'ListDir', path: dirPath }, () => this.inner.listDir(dirPath));
  }

  create(filePath: string, contents: Uint8Array, options?: WriteOptions): Promise<Version> {
    return this.run({ operation: 'Create', path: filePath }, () => this.inner.create(filePath, contents, options));
  }

  update(filePath: string, contents: Uint8Array, version: Version | null, options?: WriteOptions): Promise<Version> {
    return this.run({ operation: 'Update', path: filePath }, () => this.inner.update(filePath, contents, version, options));
  }

  get(filePath: string): Promise<VersionedValue> {
    return this.run({ operation: 'Get', path: filePath }, () => this.inner.get(filePath));
  }

  currentRevision(): Promise<Version> {
    return this.run({ operation: 'CurrentRevision', path: '' }, () => this.inner.currentRevision());
  }

  getVersion(filePath: string, version: Version): Promise<Uint8Array> {
    return this.run({ operation: 'GetVersion', path: filePath }, () => this.inner.getVersion(filePath, version));
  }

  list(prefix: string): Promise<KVInfo[]> {
    return this.run({ operation: 'List', path: prefix }, () => this.inner.list(prefix));
  }

  listPage(prefix: string, options: ListPageOptions): Promise<ListPage> {
    return this.run({ operation: 'ListPage', path: prefix }, () => this.inner.listPage(prefix, options));
  }

  delete(filePath: string, version: Version | null, options?: WriteOptions): Promise<void> {
    return this.run({ operation: 'Delete', path: filePath }, () => this.inner.delete(filePath, version, options));
  }

  commit(request: CommitRequest): Promise<Version> {
    const path = request.ops[0]?.path ?? request.expect[0]?.path ?? '';
    return this.run({ operation: 'Commit', path }, () => this.inner.commit(request));
  }

  watch(filePath: string, options?: WatchOptions): Promise<FileWatch> {
    return this.run({ operation: 'Watch', path: filePath }, () => this.inner.watch(filePath, options));
  }

  watchRecursive(prefix: string, options?: RecursiveWatchOptions): Promise<RecursiveWatch> {
    return this.run({ operation: 'WatchRecursive', path: prefix }, () => this.inner.watchRecursive(prefix, options));
  }

  lock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.run({ operation: 'Lock', path: dirPath, lockOptions: options }, () => this.inner.lock(dirPath, contents, options)).then(this.wrapLock);
  }

  tryLock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.run({ operation: 'TryLock', path: dirPath, lockOptions: options }, () => this.inner.tryLock(dirPath, contents, options)).then(
      this.wrapLock,
    );
  }

  lockName(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.run({ operation: 'LockName', path: dirPath, lockOptions: options }, () => this.inner.lockName(dirPath, contents, options)).then(
      this.wrapLock,
    );
  }

  newLeaderParticipation(name: string, id: string): LeaderParticipation {
    let participation = this.inner.newLeaderParticipation(name, id);
    for (const observe of this.interceptors.participations ?? []) participation = observe(name, id, participation);
    return participation;
  }

  grantLease(ttlSeconds: number): Promise<LeaseInfo> {
    return this.run({ operation: 'GrantLease', path: '' }, () => this.inner.grantLease(ttlSeconds));
  }

  keepAliveLease(id: bigint): Promise<number> {
    return this.run({ operation: 'KeepAliveLease', path: '', leaseId: id }, () => this.inner.keepAliveLease(id));
  }

  revokeLease(id: bigint): Promise<void> {
    return this.run({ operation: 'RevokeLease', path: '', leaseId: id }, () => this.inner.revokeLease(id));
  }

  leaseTimeToLive(id: bigint): Promise<number> {
    return this.run({ operation: 'LeaseTimeToLive', path: '', leaseId: id }, () => this.inner.leaseTimeToLive(id));
  }

  alarms(): Promise<string[]> {
    return this.run({ operation: 'Alarms', path: '' }, () => this.inner.alarms());
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The descriptor as granted, with its unlock going through the interceptors. */
  private readonly wrapLock = (lock: LockDescriptor): LockDescriptor => {
    const run = this.run;
    return {
      path: lock.path,
      token: lock.token,
      fence: lock.fence,
      leaseId: lock.leaseId,
      lost: lock.lost,
      check: () => lock.check(),
      unlock: () => run({ operation: 'Unlock', path: lock.path, token: lock.token }, () => lock.unlock()),
    };
  };
}
