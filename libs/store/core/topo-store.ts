import type { KvEngine } from '../engine';
import { TopoError, TopoErrorCode } from '../errors';
import { KeySpace, checkRoot } from '../paths';
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
} from '../store';
import { DirectoryOps } from './directory';
import { ElectionParticipation } from './election';
import { FileOps } from './file';
import { LockOps } from './lock';
import { WatchOps } from './watch';

export interface TopoStoreOptions {
  /** Every path lives under this key prefix, e.g. '/topo/global'. */
  root: string;
  /** Default TTL of locks and election participants (Vitess: --topo_etcd_lease_ttl, 30 s). */
  lockTtlSeconds?: number;
  /** TTL of named locks (Vitess: 24 h). */
  namedLockTtlSeconds?: number;
  /** Deadline of each backend request; an unlock retries for this long. */
  requestTimeoutMs?: number;
}

export const DEFAULT_LOCK_TTL_SECONDS = 30;
export const DEFAULT_NAMED_LOCK_TTL_SECONDS = 24 * 60 * 60;
/** etcd's default request timeout: how long an unlock retries when none is configured. */
const DEFAULT_UNLOCK_TIMEOUT_MS = 5000;
const MAX_LEASE_TTL_SECONDS = 7 * 24 * 60 * 60;

/** The Store every plugin gets: topo.Conn semantics built once over a KvEngine. */
export class TopoStore implements Store {
  readonly root: string;
  private readonly files: FileOps;
  private readonly directories: DirectoryOps;
  private readonly watches: WatchOps;
  private readonly locks: LockOps;
  private readonly lockTtlSeconds: number;
  private readonly participations = new Set<ElectionParticipation>();
  private readonly keys: KeySpace;

  constructor(
    private readonly engine: KvEngine,
    options: TopoStoreOptions,
  ) {
    this.root = checkRoot(options.root);
    const keys = new KeySpace(this.root);
    this.lockTtlSeconds = options.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS;
    this.files = new FileOps(engine, keys);
    this.directories = new DirectoryOps(engine, keys);
    this.watches = new WatchOps(engine, keys);
    this.locks = new LockOps(engine, keys, {
      lockTtlSeconds: this.lockTtlSeconds,
      namedLockTtlSeconds: options.namedLockTtlSeconds ?? DEFAULT_NAMED_LOCK_TTL_SECONDS,
      unlockTimeoutMs: options.requestTimeoutMs ?? DEFAULT_UNLOCK_TIMEOUT_MS,
    });
    this.keys = keys;
  }

  get backend(): string {
    return this.engine.name;
  }

  listDir(dirPath: string): Promise<DirEntry[]> {
    return this.directories.listDir(dirPath);
  }

  async currentRevision(): Promise<Version> {
    // An exact read of the root's own key: no value, only the revision it was served at.
    const { revision } = await this.engine.range(this.root, { keysOnly: true });
    return revision;
  }

  create(filePath: string, contents: Uint8Array, options?: WriteOptions): Promise<Version> {
    return this.files.create(filePath, contents, options);
  }

  update(filePath: string, contents: Uint8Array, version: Version | null, options?: WriteOptions): Promise<Version> {
    return this.files.update(filePath, contents, version, options);
  }

  get(filePath: string): Promise<VersionedValue> {
    return this.files.get(filePath);
  }

  getVersion(filePath: string, version: Version): Promise<Uint8Array> {
    return this.files.getVersion(filePath, version);
  }

  list(prefix: string): Promise<KVInfo[]> {
    return this.files.list(prefix);
  }

  listPage(prefix: string, options: ListPageOptions): Promise<ListPage> {
    return this.files.listPage(prefix, options);
  }

  delete(filePath: string, version: Version | null, options?: WriteOptions): Promise<void> {
    return this.files.delete(filePath, version, options);
  }

  commit(request: CommitRequest): Promise<Version> {
    return this.files.commit(request);
  }

  watch(filePath: string, options?: WatchOptions): Promise<FileWatch> {
    return this.watches.watch(filePath, options);
  }

  watchRecursive(prefix: string, options?: RecursiveWatchOptions): Promise<RecursiveWatch> {
    return this.watches.watchRecursive(prefix, options);
  }

  lock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.locks.lock(dirPath, contents, options);
  }

  tryLock(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.locks.tryLock(dirPath, contents, options);
  }

  lockName(dirPath: string, contents: string, options?: LockOptions): Promise<LockDescriptor> {
    return this.locks.lockName(dirPath, contents, options);
  }

  newLeaderParticipation(name: string, id: string): LeaderParticipation {
    const participation = new ElectionParticipation(this.engine, this.keys, this.locks, this.lockTtlSeconds, name, id, (p) =>
      this.participations.delete(p),
    );
    this.participations.add(participation);
    return participation;
  }

  async grantLease(ttlSeconds: number): Promise<LeaseInfo> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LEASE_TTL_SECONDS) {
      throw new TopoError(
        TopoErrorCode.InvalidArgument,
        `lease TTL ${ttlSeconds} must be a whole number of seconds from 1 to ${MAX_LEASE_TTL_SECONDS}`,
      );
    }
    const grant = await this.engine.leaseGrant(ttlSeconds);
    return { id: grant.id, ttlSeconds: grant.ttlSeconds };
  }

  keepAliveLease(id: bigint): Promise<number> {
    return this.engine.leaseKeepAlive(id);
  }

  revokeLease(id: bigint): Promise<void> {
    return this.engine.leaseRevoke(id);
  }

  alarms(): Promise<string[]> {
    return this.engine.alarms();
  }

  leaseTimeToLive(id: bigint): Promise<number> {
    return this.engine.leaseTimeToLive(id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.participations].map((p) => p.stop()));
    await this.engine.close();
  }
}
