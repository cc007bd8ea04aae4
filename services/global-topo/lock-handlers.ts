import { hostname } from 'node:os';
import type * as api from '../../libs/proto/gen/topo/global/v1/global';
import { invalidArgument, requireRevision, serverStream, unary, wireVersion, type CallTracker, type HandlerContext } from '../../libs/server';
import type { LockDescriptor } from '../../libs/store';
import { validateLockContents, validateLockText, type GlobalTopology, type LockInfo, type TopoLockOptions } from '../../libs/topo';
import { durationMs, lockTarget, targetOfDir, type ResolvedTarget } from './request-fields';

const MAX_WAIT_MS = 60 * 60 * 1000;
const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 60 * 60 * 1000;
/** A lock held through a stream may ask for a longer lease: it is kept alive anyway. */
const MAX_STREAM_TTL_MS = 24 * 60 * 60 * 1000;

interface LockAsk {
  target?: api.LockTarget;
  holder: string;
  action: string;
  waitTimeout?: api.LockRequest['waitTimeout'];
  tryOnly: boolean;
  contents?: string;
}

/** Whole seconds of a lock TTL, or INVALID_ARGUMENT; undefined when unset. */
function ttlSecondsOf(ttl: api.LockRequest['ttl'], maxMs: number): number | undefined {
  const ms = durationMs(ttl, 'ttl', maxMs);
  if (ms === undefined) return undefined;
  if (ms < MIN_TTL_MS || ms % 1000 !== 0) throw invalidArgument('ttl', `must be whole seconds from 1s to ${maxMs / 1000}s`);
  return ms / 1000;
}

/** Locks over gRPC: held through a stream, or left to a TTL for clients that cannot hold one. */
export function lockHandlers(topo: GlobalTopology, tracker: CallTracker) {
  /** `keepAlive`: held through a stream (the lease kept alive) rather than left to its TTL. */
  const take = async (req: LockAsk, ctx: HandlerContext, ttlSeconds: number | undefined, keepAlive: boolean): Promise<LockDescriptor> => {
    const target = lockTarget(req.target);
    if (req.contents !== undefined && (req.action !== '' || req.holder !== '')) {
      throw invalidArgument('contents', 'is given: leave action and holder empty (the contents are stored as they are)');
    }
    const action = req.contents === undefined ? validateLockText(req.action, 'action') : '';
    const holder = req.holder === '' ? defaultHolder(ctx) : validateLockText(req.holder, 'holder');
    const options = {
      holder,
      contents: req.contents === undefined ? undefined : validateLockContents(req.contents, 'contents'),
      signal: ctx.signal,
      timeoutMs: durationMs(req.waitTimeout, 'wait_timeout', MAX_WAIT_MS) ?? MAX_WAIT_MS,
      ttlSeconds,
      keepAlive,
    };
    const lock = await lockFor(topo, target, action, options, req.tryOnly);
    if (ctx.identity !== undefined) {
      // Who may release it later (docs/security.md): if this cannot be recorded, give the lock back.
      await topo.locks.recordHolderIdentity(lock, ctx.identity).catch(async (err: unknown) => {
        await lock.unlock().catch(() => undefined);
        throw err;
      });
    }
    return lock;
  };

  const grant = (lock: LockDescriptor, req: LockAsk, ctx: HandlerContext): api.LockGrant => ({
    lockId: lock.path,
    fencingToken: wireVersion(lock.token),
    info: {
      lockId: lock.path,
      target: targetOfDir(lock.path.replace(/\/locks\/[^/]+$/, '')),
      holder: req.contents !== undefined ? '' : req.holder === '' ? defaultHolder(ctx) : req.holder,
      action: req.action,
      requestedAt: new Date(),
      hostname: hostname(),
      fencingToken: wireVersion(lock.token),
      held: true,
      contents: req.contents ?? '',
    },
  });

  return {
    lock: serverStream<api.LockRequest, api.LockResponse>(tracker, 'Lock', async (req, write, ctx) => {
      const lock = await take(req, ctx, ttlSecondsOf(req.ttl, MAX_STREAM_TTL_MS), true);
      try {
        await write({ event: { $case: 'granted', value: grant(lock, req, ctx) } });
        await untilAborted(AbortSignal.any([ctx.signal, lock.lost]));
        if (lock.lost.aborted && !ctx.signal.aborted) {
          await write({ event: { $case: 'lost', value: { reason: String((lock.lost.reason as Error).message) } } });
        }
      } finally {
        if (!lock.lost.aborted) await lock.unlock().catch(() => undefined);
      }
    }),
    acquireLock: unary<api.AcquireLockRequest, api.AcquireLockResponse>(tracker, 'AcquireLock', async (req, ctx) => {
      const ttlSeconds = ttlSecondsOf(req.ttl, MAX_TTL_MS);
      if (ttlSeconds === undefined) throw invalidArgument('ttl', 'is required: whole seconds from 1s to 3600s');
      const lock = await take(req, ctx, ttlSeconds, false);
      return { grant: grant(lock, req, ctx), expiresAt: new Date(Date.now() + ttlSeconds * 1000) };
    }),
    releaseLock: unary<api.ReleaseLockRequest, api.ReleaseLockResponse>(tracker, 'ReleaseLock', async (req) => {
      await topo.locks.release(req.lockId, requireRevision('fencing_token', req.fencingToken));
      return {};
    }),
    listLocks: unary<api.ListLocksRequest, api.ListLocksResponse>(tracker, 'ListLocks', async (req) => {
      const infos = req.target ? await queueOf(topo, lockTarget(req.target)) : await topo.locks.allLocks();
      return { locks: infos.map(lockInfoMessage) };
    }),
  };
}

/** The holder a lock records when the caller names none: its certificate identity, else its address. */
function defaultHolder(ctx: HandlerContext): string {
  return ctx.identity ?? `grpc ${ctx.peer}`;
}

function lockFor(
  topo: GlobalTopology,
  target: ResolvedTarget,
  action: string,
  options: TopoLockOptions,
  tryOnly: boolean,
): Promise<LockDescriptor> {
  switch (target.kind) {
    case 'keyspace':
      return topo.locks.lockKeyspace(target.keyspace, action, { ...options, nonBlocking: tryOnly });
    case 'shard':
      return topo.locks.lockShard(target.keyspace, target.shard, action, { ...options, nonBlocking: tryOnly });
    case 'named':
      return topo.locks.lockNamedPath(target.dir, action, { ...options, nonBlocking: tryOnly });
    case 'path':
      return topo.locks.lockPath(target.dir, action, { ...options, nonBlocking: tryOnly });
  }
}

function queueOf(topo: GlobalTopology, target: ResolvedTarget): Promise<LockInfo[]> {
  switch (target.kind) {
    case 'keyspace':
      return topo.locks.keyspaceLocks(target.keyspace);
    case 'shard':
      return topo.locks.shardLocks(target.keyspace, target.shard);
    case 'named':
      return topo.locks.pathLocks(target.dir);
    case 'path':
      return topo.locks.pathLocks(target.dir);
  }
}

function lockInfoMessage(info: LockInfo): api.LockInfo {
  const dir = info.path.replace(/\/locks\/[^/]+$/, '');
  return {
    lockId: info.path,
    target: targetOfDir(dir),
    holder: info.contents?.holder ?? '',
    action: info.contents?.action ?? info.raw,
    requestedAt: requestedAt(info.contents?.time),
    hostname: info.contents?.hostname ?? '',
    fencingToken: wireVersion(info.token),
    held: info.held,
    contents: info.raw,
  };
}

/** When the lock was asked for, if its contents say so in a form a Date reads (Vitess writes its own time format). */
function requestedAt(time: string | undefined): Date | undefined {
  if (time === undefined) return undefined;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
