import { hostname } from 'node:os';
import type * as api from '../../libs/proto/gen/topo/global/v1/global';
import { invalidArgument, requireRevision, serverStream, unary, wireVersion, type CallTracker, type HandlerContext } from '../../libs/server';
import type { LockDescriptor } from '../../libs/store';
import { validateLockText, type GlobalTopology, type LockInfo } from '../../libs/topo';
import { durationMs, lockTarget, targetOfDir, type ResolvedTarget } from './request-fields';

const MAX_WAIT_MS = 60 * 60 * 1000;
const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 60 * 60 * 1000;

interface LockAsk {
  target?: api.LockTarget;
  holder: string;
  action: string;
  waitTimeout?: api.LockRequest['waitTimeout'];
  tryOnly: boolean;
}

/** Locks over gRPC: held through a stream, or left to a TTL for clients that cannot hold one. */
export function lockHandlers(topo: GlobalTopology, tracker: CallTracker) {
  const take = async (req: LockAsk, ctx: HandlerContext, ttl?: { ttlSeconds: number }): Promise<LockDescriptor> => {
    const target = lockTarget(req.target);
    const action = validateLockText(req.action, 'action');
    const holder = req.holder === '' ? defaultHolder(ctx) : validateLockText(req.holder, 'holder');
    const options = {
      holder,
      signal: ctx.signal,
      timeoutMs: durationMs(req.waitTimeout, 'wait_timeout', MAX_WAIT_MS) ?? MAX_WAIT_MS,
      ttlSeconds: ttl?.ttlSeconds,
      keepAlive: ttl === undefined,
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
      target: req.target,
      holder: req.holder === '' ? defaultHolder(ctx) : req.holder,
      action: req.action,
      requestedAt: new Date(),
      hostname: hostname(),
      fencingToken: wireVersion(lock.token),
      held: true,
    },
  });

  return {
    lock: serverStream<api.LockRequest, api.LockResponse>(tracker, 'Lock', async (req, write, ctx) => {
      const lock = await take(req, ctx);
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
      const ttlMs = durationMs(req.ttl, 'ttl', MAX_TTL_MS);
      if (ttlMs === undefined || ttlMs < MIN_TTL_MS || ttlMs % 1000 !== 0) {
        throw invalidArgument('ttl', 'is required: whole seconds from 1s to 3600s');
      }
      const lock = await take(req, ctx, { ttlSeconds: ttlMs / 1000 });
      return { grant: grant(lock, req, ctx), expiresAt: new Date(Date.now() + ttlMs) };
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
  options: { holder: string; signal: AbortSignal; timeoutMs: number; ttlSeconds?: number; keepAlive: boolean },
  tryOnly: boolean,
): Promise<LockDescriptor> {
  switch (target.kind) {
    case 'keyspace':
      return topo.locks.lockKeyspace(target.keyspace, action, { ...options, nonBlocking: tryOnly });
    case 'shard':
      return topo.locks.lockShard(target.keyspace, target.shard, action, { ...options, nonBlocking: tryOnly });
    case 'named':
      if (tryOnly) throw invalidArgument('try_only', 'is not supported for named locks');
      return topo.locks.lockNamed(target.name, action, options);
  }
}

function queueOf(topo: GlobalTopology, target: ResolvedTarget): Promise<LockInfo[]> {
  switch (target.kind) {
    case 'keyspace':
      return topo.locks.keyspaceLocks(target.keyspace);
    case 'shard':
      return topo.locks.shardLocks(target.keyspace, target.shard);
    case 'named':
      return topo.locks.namedLocks(target.name);
  }
}

function lockInfoMessage(info: LockInfo): api.LockInfo {
  const dir = info.path.replace(/\/locks\/[^/]+$/, '');
  return {
    lockId: info.path,
    target: targetOfDir(dir),
    holder: info.contents?.holder ?? '',
    action: info.contents?.action ?? info.raw,
    requestedAt: info.contents ? new Date(info.contents.time) : undefined,
    hostname: info.contents?.hostname ?? '',
    fencingToken: wireVersion(info.token),
    held: info.held,
  };
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
