/**
 * Keyspace, shard, named and path locks (Vitess `topo/locks.go` and topo.Conn's Lock) over
 * the store's queued, fenced locks. Each lock records who took it, for what and when, as
 * JSON, or holds contents the caller gives verbatim (Vitess's own lock info), so an
 * operator listing a lock queue can tell who is holding things up.
 */
import { hostname as osHostname, userInfo } from 'node:os';
import { ELECTIONS_DIR, checkDirPath, type LockDescriptor, type LockOptions, type Store } from '../store';
import { fieldError } from './private/field-error';
import { TopoError, TopoErrorCode } from '../store';
import { keyspaceLockDir, lockHolderPath, lockQueueDir, namedLockDir, shardLockDir } from './paths';
import { validateLockContents, validateLockText } from './validation';

/** How long a lock call waits by default before Timeout (Vitess `--lock-timeout`, 45 s). */
export const DEFAULT_LOCK_TIMEOUT_MS = 45_000;

/** What a lock key holds: who took the lock, for what, when. */
export interface LockContents {
  /** What the lock is taken for, e.g. `CreateShard(-80)` or `PlannedReparentShard`. */
  action: string;
  /** Who asked: a user, a service identity or a client peer; defaults to the OS user. */
  holder: string;
  /** Host of the process that took the lock. */
  hostname: string;
  /** Process id of the process that took the lock. */
  pid: number;
  /** When the lock was asked for (ISO 8601, UTC). */
  time: string;
}

export interface TopoLockOptions {
  /** Recorded as `holder`; defaults to the OS user running this process. */
  holder?: string;
  /** Give up waiting after this long with Timeout; default DEFAULT_LOCK_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Aborting a wait ends it with Interrupted. */
  signal?: AbortSignal;
  /** Lease TTL of the lock, kept alive while held; the store's default when unset. */
  ttlSeconds?: number;
  /** false: leave the granted lock to its TTL instead of keeping it alive (see LockOptions). */
  keepAlive?: boolean;
  /** Take the lock only if nobody holds or waits for it, else NodeExists (Vitess NonBlocking). */
  nonBlocking?: boolean;
  /**
   * The lock key's contents, stored verbatim instead of the JSON this module writes (any
   * text within the value limit, "" included). `holder` is then not used.
   */
  contents?: string;
}

export type NamedLockOptions = TopoLockOptions;

/** One key in a lock's queue: the holder first, then the waiters in the order they will get it. */
export interface LockInfo {
  /** The lock key, relative to the store root. */
  path: string;
  /** Fencing token of this contender: the lock key's create revision. */
  token: bigint;
  /** The lease the key is bound to, read from the key name; undefined if the name is not in the store's format. */
  leaseId: bigint | undefined;
  /** True for the contender that holds the lock (the oldest key). */
  held: boolean;
  /** The parsed contents; undefined when they are not this format (e.g. written by another tool). */
  contents: LockContents | undefined;
  /** The contents as stored. */
  raw: string;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user with no passwd entry has no name.
    return 'unknown';
  }
}

/** The contents recorded for a new lock. */
export function newLockContents(action: string, holder?: string): LockContents {
  return {
    action: validateLockText(action, 'action'),
    holder: holder === undefined ? osUser() : validateLockText(holder, 'holder'),
    hostname: osHostname(),
    pid: process.pid,
    time: new Date().toISOString(),
  };
}

/**
 * Reads lock contents written by `Locks`, or by Vitess (`{"Action", "HostName", "UserName",
 * "Time", "Status"}`, its topo lockInfo, with no pid: 0); undefined for anything else.
 */
export function parseLockContents(raw: string): LockContents | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const vitess = parsed as Record<string, unknown>;
  if (typeof vitess.Action === 'string' && typeof vitess.HostName === 'string' && typeof vitess.UserName === 'string') {
    return { action: vitess.Action, holder: vitess.UserName, hostname: vitess.HostName, pid: 0, time: String(vitess.Time ?? '') };
  }
  const { action, holder, hostname, pid, time } = parsed as Record<string, unknown>;
  if (
    typeof action !== 'string' ||
    typeof holder !== 'string' ||
    typeof hostname !== 'string' ||
    typeof pid !== 'number' ||
    typeof time !== 'string'
  ) {
    return undefined;
  }
  return { action, holder, hostname, pid, time };
}

/** What the lock key holds: the caller's contents verbatim, else our JSON record. */
function lockText(action: string, options: TopoLockOptions): string {
  return options.contents !== undefined ? validateLockContents(options.contents) : JSON.stringify(newLockContents(action, options.holder));
}

function storeOptions(options: TopoLockOptions): LockOptions {
  return {
    timeoutMs: options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    signal: options.signal,
    ttlSeconds: options.ttlSeconds,
    keepAlive: options.keepAlive,
  };
}

/** A directory a path lock may be taken on: a valid directory path, not the root. */
function validateLockDir(dir: string): string {
  const checked = checkDirPath(dir);
  if (checked === '') throw fieldError('path', 'is the root — lock a directory under it');
  return checked;
}

const LEASE_KEY_NAME = /^[0-9a-f]{16}$/;
/** `<lock dir>/locks/<lease id>`: group 1 is the lock dir, group 2 the lease id. */
const LOCK_KEY_PATH = /^(.+)\/locks\/([0-9a-f]{16})$/;
const decoder = new TextDecoder();

export class Locks {
  constructor(private readonly store: Store) {}

  /** Locks a keyspace (its directory must exist: NoNode otherwise). */
  lockKeyspace(keyspace: string, action: string, options: TopoLockOptions = {}): Promise<LockDescriptor> {
    return this.take(keyspaceLockDir(keyspace), action, options);
  }

  /** Locks a shard (its directory must exist: NoNode otherwise). */
  lockShard(keyspace: string, shard: string, action: string, options: TopoLockOptions = {}): Promise<LockDescriptor> {
    return this.take(shardLockDir(keyspace, shard), action, options);
  }

  /** Locks a name under `internal/named_locks/`, which need not exist; the store's long named-lock TTL applies unless `ttlSeconds` is given. */
  lockNamed(name: string, action: string, options: NamedLockOptions = {}): Promise<LockDescriptor> {
    return this.lockNamedPath(namedLockDir(name), action, options);
  }

  /**
   * A named lock on any directory under the root, which need not exist (Vitess's topo.Conn
   * LockName, given `internal/named_locks/<name>` or a path inside a served directory).
   */
  lockNamedPath(dir: string, action: string, options: NamedLockOptions = {}): Promise<LockDescriptor> {
    return this.store.lockName(validateLockDir(dir), lockText(action, options), {
      ...storeOptions(options),
      tryOnly: options.nonBlocking ?? false,
    });
  }

  /**
   * Locks any existing directory under the root (NoNode otherwise), as Vitess's topo.Conn
   * Lock does: keyspace and shard directories, `routing_rules`, or anything else. A
   * keyspace or shard directory is the same lock as lockKeyspace/lockShard take. The root
   * itself cannot be locked.
   */
  lockPath(dir: string, action: string, options: TopoLockOptions = {}): Promise<LockDescriptor> {
    return this.take(validateLockDir(dir), action, options);
  }

  /** The queue of any lock directory, holder first. */
  pathLocks(dir: string): Promise<LockInfo[]> {
    return this.queue(validateLockDir(dir));
  }

  keyspaceLocks(keyspace: string): Promise<LockInfo[]> {
    return this.queue(keyspaceLockDir(keyspace));
  }

  shardLocks(keyspace: string, shard: string): Promise<LockInfo[]> {
    return this.queue(shardLockDir(keyspace, shard));
  }

  namedLocks(name: string): Promise<LockInfo[]> {
    return this.queue(namedLockDir(name));
  }

  /**
   * Every lock queue under the root (keyspaces, shards, named locks, `routing_rules`, any
   * directory), holder first in each; not elections, which have their own RPCs: what an
   * operator asks for when something seems stuck. Reads the whole global topology, which
   * is small by design.
   */
  async allLocks(): Promise<LockInfo[]> {
    const kvs = await this.store.list('');
    const dirs = new Set<string>();
    for (const kv of kvs) {
      const match = LOCK_KEY_PATH.exec(kv.path);
      if (match && !match[1].startsWith(`${ELECTIONS_DIR}/`)) dirs.add(match[1]);
    }
    const queues = await Promise.all([...dirs].sort().map((dir) => this.queue(dir)));
    return queues.flat();
  }

  /**
   * Records the verified identity of the caller a lock was granted to, beside the lock and
   * bound to its lease, so it goes when the lock goes. Kept apart from the lock's contents,
   * which are free-form (Vitess writes its own JSON there).
   */
  async recordHolderIdentity(lock: LockDescriptor, identity: string): Promise<void> {
    await this.store.update(lockHolderPath(lock.leaseId), new TextEncoder().encode(identity), null, { lease: lock.leaseId });
  }

  /** The identity recorded for a lock (its id is its key path), or undefined when none was. */
  async holderIdentity(lockId: string): Promise<string | undefined> {
    const match = LOCK_KEY_PATH.exec(lockId);
    if (!match) return undefined;
    try {
      return decoder.decode((await this.store.get(lockHolderPath(BigInt(`0x${match[2]}`)))).contents);
    } catch (err) {
      if (TopoError.is(err, TopoErrorCode.NoNode)) return undefined;
      throw err;
    }
  }

  /**
   * Releases a lock by its path and token, from any process: deletes its key only while
   * that grant still holds it (LockLost otherwise), then ends its lease.
   */
  async release(path: string, token: bigint): Promise<void> {
    const match = LOCK_KEY_PATH.exec(path);
    if (!match) throw fieldError('lock_id', `${JSON.stringify(path)} is not a lock id`);
    await this.store.delete(path, null, { fence: { lockPath: path, token } });
    await this.store.revokeLease(BigInt(`0x${match[2]}`));
  }

  private take(dir: string, action: string, options: TopoLockOptions): Promise<LockDescriptor> {
    const contents = lockText(action, options);
    const lockOptions = storeOptions(options);
    return options.nonBlocking ? this.store.tryLock(dir, contents, lockOptions) : this.store.lock(dir, contents, lockOptions);
  }

  /**
   * The queue of a lock directory, holder first. A lock key is written once and never
   * updated, so the version `store.list` reports (its mod revision) is its create
   * revision: the fencing token.
   */
  private async queue(dir: string): Promise<LockInfo[]> {
    const prefix = `${lockQueueDir(dir)}/`;
    const kvs = await this.store.list(prefix);
    const keys = kvs
      .filter((kv) => !kv.path.slice(prefix.length).includes('/'))
      .sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    return keys.map((kv, index) => {
      const name = kv.path.slice(prefix.length);
      const raw = decoder.decode(kv.contents);
      return {
        path: kv.path,
        token: kv.version,
        leaseId: LEASE_KEY_NAME.test(name) ? BigInt(`0x${name}`) : undefined,
        held: index === 0,
        contents: parseLockContents(raw),
        raw,
      };
    });
  }
}
