import type { KvEngine, KeyValue } from '../engine';
import { TopoError, TopoErrorCode, interrupted, noNode, nodeExists } from '../errors';
import { KeySpace, checkDirPath } from '../paths';
import type { Fence, LockDescriptor, LockOptions } from '../store';
import { LeaseKeeper } from './lease-keeper';

export const LOCKS_DIR = 'locks';

export interface LockDefaults {
  /** TTL of keyspace and shard locks and of election participants; kept alive while held. */
  lockTtlSeconds: number;
  /** TTL of named locks, which may be held by a process that stalls for a long while. */
  namedLockTtlSeconds: number;
  /** How long an unlock keeps retrying an unreachable backend before it gives up waiting. */
  unlockTimeoutMs: number;
}

/** Backoff between unlock attempts: 50 ms doubling to 1 s, with jitter. */
const UNLOCK_BACKOFF_MIN_MS = 50;
const UNLOCK_BACKOFF_MAX_MS = 1000;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Queued locks, as etcd's concurrency package does them: each contender writes a key
 * under `<dir>/locks/` bound to its own lease; the key's create revision sets its place
 * in the queue and is the fencing token of its grant. A contender waits for the deletion
 * of the key just before it, so a release wakes exactly one waiter.
 */
export class LockOps {
  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
    private readonly defaults: LockDefaults,
  ) {}

  async lock(dirPath: string, contents: string, options: LockOptions = {}): Promise<LockDescriptor> {
    const dir = await this.existingDir(dirPath);
    return this.acquire(dir, contents, options.ttlSeconds ?? this.defaults.lockTtlSeconds, options, false);
  }

  async tryLock(dirPath: string, contents: string, options: LockOptions = {}): Promise<LockDescriptor> {
    const dir = await this.existingDir(dirPath);
    return this.acquire(dir, contents, options.ttlSeconds ?? this.defaults.lockTtlSeconds, options, true);
  }

  async lockName(dirPath: string, contents: string, options: LockOptions = {}): Promise<LockDescriptor> {
    const dir = checkDirPath(dirPath);
    return this.acquire(dir, contents, options.ttlSeconds ?? this.defaults.namedLockTtlSeconds, options, options.tryOnly ?? false);
  }

  /** Keys queued for a lock directory, oldest first. */
  async queue(dir: string): Promise<{ kvs: KeyValue[]; revision: bigint }> {
    const { kvs, revision } = await this.engine.range(this.keys.dirPrefix(`${dir}/${LOCKS_DIR}`), { prefix: true });
    return { kvs: [...kvs].sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1)), revision };
  }

  async acquire(
    dir: string,
    contents: string,
    ttlSeconds: number,
    options: LockOptions,
    tryOnly: boolean,
  ): Promise<LockDescriptor> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new TopoError(TopoErrorCode.InvalidArgument, `lock TTL ${ttlSeconds} must be a whole number of seconds >= 1`);
    }
    if (options.signal?.aborted) throw interrupted(`lock ${dir}`);
    const lease = await this.engine.leaseGrant(ttlSeconds);
    const keeper = new LeaseKeeper(this.engine, lease.id, ttlSeconds);
    const path = `${dir === '' ? '' : `${dir}/`}${LOCKS_DIR}/${lease.id.toString(16).padStart(16, '0')}`;
    const key = this.keys.key(path);
    try {
      const created = await this.engine.txn({
        compare: [{ key, field: 'createRevision', equals: 0n }],
        success: [{ type: 'put', key, value: encoder.encode(contents), lease: lease.id }],
      });
      if (!created.succeeded) throw nodeExists(path);
      const token = created.revision;
      await this.waitForTurn(dir, token, options, tryOnly, keeper.lost);
      // The caller may have gone while the grant was on its way back.
      if (options.signal?.aborted) throw interrupted(`lock ${dir}`);
      return new HeldLock(this.engine, this.keys, path, token, keeper, {
        keepAlive: options.keepAlive ?? true,
        ttlSeconds,
        unlockTimeoutMs: this.defaults.unlockTimeoutMs,
        caller: options.signal,
      });
    } catch (err) {
      keeper.stop();
      // A key left queued would hold up every contender behind it until its lease expired.
      await releaseLease(this.engine, lease.id, Date.now() + this.defaults.unlockTimeoutMs, ttlSeconds);
      throw err;
    }
  }

  private async existingDir(dirPath: string): Promise<string> {
    const dir = checkDirPath(dirPath);
    const { kvs } = await this.engine.range(this.keys.dirPrefix(dir), { prefix: true, keysOnly: true });
    if (kvs.length === 0) throw noNode(dirPath);
    return dir;
  }

  private async waitForTurn(
    dir: string,
    token: bigint,
    options: LockOptions,
    tryOnly: boolean,
    leaseLost: AbortSignal,
  ): Promise<void> {
    const deadline = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    const signals = [leaseLost, ...(options.signal ? [options.signal] : []), ...(deadline ? [deadline] : [])];
    const wait = AbortSignal.any(signals);
    const ended = (): TopoError => {
      if (deadline?.aborted) return new TopoError(TopoErrorCode.Timeout, `timed out waiting for lock ${dir}`);
      if (leaseLost.aborted) return leaseLost.reason as TopoError;
      return interrupted(`waiting for lock ${dir}`);
    };
    for (let attempt = 0; ; attempt++) {
      let queue: { kvs: KeyValue[]; revision: bigint };
      try {
        queue = await this.queue(dir);
      } catch (err) {
        // A slow or failing-over etcd does not end a wait: only the caller, its deadline or
        // the loss of the lease do. The key keeps its place meanwhile.
        if (!retryable(err) || tryOnly) throw err;
        if (!(await pause(Math.min(UNLOCK_BACKOFF_MAX_MS, UNLOCK_BACKOFF_MIN_MS * 2 ** attempt), wait))) throw ended();
        continue;
      }
      const { kvs, revision } = queue;
      if (!kvs.some((kv) => kv.createRevision === token)) {
        throw new TopoError(TopoErrorCode.LockLost, `lock key for ${dir} vanished while waiting`);
      }
      const ahead = kvs.filter((kv) => kv.createRevision < token);
      if (ahead.length === 0) return;
      if (tryOnly) throw nodeExists(`${dir}/${LOCKS_DIR}`);
      try {
        await this.waitForDelete(ahead[ahead.length - 1].key, revision + 1n, wait);
        attempt = 0;
      } catch (err) {
        if (wait.aborted) throw ended();
        // Compacted or unreachable: read the queue again, after a pause when unreachable.
        if (!TopoError.is(err, TopoErrorCode.Compacted) && !retryable(err)) throw err;
        if (retryable(err) && !(await pause(Math.min(UNLOCK_BACKOFF_MAX_MS, UNLOCK_BACKOFF_MIN_MS * 2 ** attempt), wait))) {
          throw ended();
        }
      }
    }
  }

  private async waitForDelete(key: string, startRevision: bigint, signal: AbortSignal): Promise<void> {
    for await (const response of this.engine.watch(key, { startRevision, signal })) {
      if (response.events.some((event) => event.type === 'delete')) return;
    }
  }
}

interface HeldLockOptions {
  keepAlive: boolean;
  ttlSeconds: number;
  unlockTimeoutMs: number;
  /** The caller's signal: with keepAlive, its abort releases the lock (the caller is gone). */
  caller: AbortSignal | undefined;
}

class HeldLock implements LockDescriptor {
  readonly fence: Fence;
  private releasing: Promise<void> | undefined;
  private readonly watchStop = new AbortController();
  /** Aborted at unlock or when the caller goes: fenced writes stop before reaching the backend. */
  private readonly over = new AbortController();
  private readonly onCallerGone = (): void => void this.unlock().catch(() => undefined);

  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
    readonly path: string,
    readonly token: bigint,
    private readonly keeper: LeaseKeeper,
    private readonly options: HeldLockOptions,
  ) {
    this.fence = { lockPath: path, token, ended: AbortSignal.any([this.over.signal, keeper.lost]) };
    if (options.keepAlive) {
      void this.watchKey();
      options.caller?.addEventListener('abort', this.onCallerGone, { once: true });
    } else {
      keeper.stop();
    }
  }

  get leaseId(): bigint {
    return this.keeper.leaseId;
  }

  get lost(): AbortSignal {
    return this.keeper.lost;
  }

  async check(): Promise<void> {
    if (this.releasing) throw noNode(this.path);
    if (this.lost.aborted) throw this.lost.reason as TopoError;
    const { kvs } = await this.engine.range(this.keys.key(this.path));
    if (kvs.length === 0 || kvs[0].createRevision !== this.token) {
      this.keeper.markLost(`lock key ${this.path} is gone`);
      throw this.lost.reason as TopoError;
    }
  }

  /**
   * Deletes the lock key while this grant holds it, retrying an unreachable backend with
   * backoff for up to unlockTimeoutMs, then revokes the lease, which removes the key too if
   * the delete never got through. A lock is left to expire only when neither reached etcd
   * in that time; revoking then goes on in the background until the lease would have
   * expired anyway, so the lock is freed as soon as etcd answers again.
   */
  async unlock(): Promise<void> {
    if (this.releasing) {
      // Released already (perhaps by the caller going away): answer once that is done, so
      // whoever unlocks sees the key gone.
      await this.releasing.catch(() => undefined);
      throw noNode(this.path);
    }
    this.releasing = this.release();
    return this.releasing;
  }

  private async release(): Promise<void> {
    this.over.abort();
    this.options.caller?.removeEventListener('abort', this.onCallerGone);
    const wasLost = this.lost.aborted;
    this.keeper.stop();
    this.watchStop.abort();
    const deadline = Date.now() + this.options.unlockTimeoutMs;
    const key = this.keys.key(this.path);
    let removed: boolean | undefined;
    let failure: unknown;
    let ambiguous = false;
    for (let attempt = 0; removed === undefined; attempt++) {
      try {
        const result = await this.engine.txn({
          compare: [{ key, field: 'createRevision', equals: this.token }],
          success: [{ type: 'delete', key }],
        });
        // After a failed attempt that may have applied (leader changed, timed out), a key
        // already gone was most likely removed by that attempt.
        removed = result.succeeded || ambiguous;
      } catch (err) {
        failure = err;
        if (!retryable(err) || !(await backoffWithin(attempt, deadline))) break;
        ambiguous = true;
      }
    }
    const revoked = await releaseLease(this.engine, this.keeper.leaseId, deadline, this.options.ttlSeconds);
    if (removed === undefined && !revoked) {
      throw new TopoError(
        TopoErrorCode.Unavailable,
        `lock ${this.path} not released: etcd unreachable for ${this.options.unlockTimeoutMs} ms; its lease expires within ${this.options.ttlSeconds}s: ${String(failure)}`,
        { cause: failure },
      );
    }
    if (wasLost || removed === false) {
      throw new TopoError(TopoErrorCode.LockLost, `lock ${this.path} was lost before unlock`);
    }
  }

  /** Someone deleting the lock key (an operator, or lease expiry) loses the lock at once. */
  private async watchKey(): Promise<void> {
    const signal = AbortSignal.any([this.watchStop.signal, this.keeper.lost]);
    try {
      for await (const response of this.engine.watch(this.keys.key(this.path), { startRevision: this.token + 1n, signal })) {
        if (response.events.some((event) => event.type === 'delete')) {
          this.keeper.markLost(`lock key ${this.path} was deleted`);
          return;
        }
      }
    } catch (err) {
      if (!signal.aborted && TopoError.is(err, TopoErrorCode.Compacted)) {
        await this.check().catch(() => undefined);
      }
    }
  }
}

/**
 * Revokes a lease, retrying an unreachable backend until `deadline`; true once revoked (or
 * already gone). When the backend stayed away, revoking goes on in the background until
 * the lease would have expired anyway, so its keys go as soon as the backend answers.
 */
async function releaseLease(engine: KvEngine, leaseId: bigint, deadline: number, ttlSeconds: number): Promise<boolean> {
  if (await revokeUntil(engine, leaseId, deadline)) return true;
  const until = Date.now() + ttlSeconds * 1000;
  const retry = (): void => {
    void revokeUntil(engine, leaseId, Date.now() + UNLOCK_BACKOFF_MAX_MS).then((revoked) => {
      if (!revoked && Date.now() < until) setTimeout(retry, UNLOCK_BACKOFF_MAX_MS).unref();
    });
  };
  setTimeout(retry, UNLOCK_BACKOFF_MAX_MS).unref();
  return false;
}

async function revokeUntil(engine: KvEngine, leaseId: bigint, deadline: number): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await engine.leaseRevoke(leaseId);
      return true;
    } catch (err) {
      if (!retryable(err) || !(await backoffWithin(attempt, deadline))) return false;
    }
  }
}

/** Sleeps `ms`; false (at once) when the signal aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function retryable(err: unknown): boolean {
  return TopoError.is(err, TopoErrorCode.Unavailable) || TopoError.is(err, TopoErrorCode.Timeout);
}

/** Sleeps before attempt `attempt + 1`; false when that would start after `deadline`. */
async function backoffWithin(attempt: number, deadline: number): Promise<boolean> {
  const base = Math.min(UNLOCK_BACKOFF_MAX_MS, UNLOCK_BACKOFF_MIN_MS * 2 ** attempt);
  const delay = base / 2 + Math.random() * (base / 2);
  if (Date.now() + delay >= deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, delay));
  return true;
}

export function lockHolder(kv: KeyValue): string {
  return decoder.decode(kv.value);
}
