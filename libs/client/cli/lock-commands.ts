import { hostname, userInfo } from 'node:os';
import { status } from '@grpc/grpc-js';
import { LockKind, type LockInfo, type LockTarget } from '../../proto/gen/topo/global/v1/global';
import { durationMessage, parseDuration, parseWholeSeconds } from './argument-values';
import { UsageError, type Command, type CommandContext } from './command';
import { CallFailure, isServiceError } from './grpc-errors';
import { formatDate, yesNo } from './record-format';

const DEFAULT_TTL = '60s';
/** What AcquireLock accepts, checked here too so a typo fails before any call. */
const MIN_TTL_S = 1;
const MAX_TTL_S = 3600;
/** Room for the server to answer DEADLINE_EXCEEDED itself (and drop its queued key) before the call's own deadline. */
const WAIT_MARGIN_MS = 2000;

/** `KS`, `KS/SHARD`, or `named:NAME` for a named lock. */
export function parseLockTarget(text: string): LockTarget {
  if (text.startsWith('named:') && text.length > 'named:'.length) {
    return { kind: LockKind.LOCK_KIND_NAMED, keyspace: '', shard: '', name: text.slice('named:'.length), path: '' };
  }
  const parts = text.split('/');
  if (parts.length === 1 && parts[0] !== '') return { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: parts[0], shard: '', name: '', path: '' };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') {
    return { kind: LockKind.LOCK_KIND_SHARD, keyspace: parts[0], shard: parts[1], name: '', path: '' };
  }
  throw new UsageError(`${JSON.stringify(text)} is not a lock target: KEYSPACE, KEYSPACE/SHARD or named:NAME`);
}

export function formatLockTarget(target: LockTarget | undefined): string {
  switch (target?.kind) {
    case LockKind.LOCK_KIND_KEYSPACE:
      return target.keyspace;
    case LockKind.LOCK_KIND_SHARD:
      return `${target.keyspace}/${target.shard}`;
    case LockKind.LOCK_KIND_NAMED:
      return `named:${target.name}`;
    default:
      return '';
  }
}

function defaultHolder(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host still says where the lock came from.
  }
  return `topoctl ${user}@${hostname()}`;
}

function lockJson(lock: LockInfo): unknown {
  return {
    lockId: lock.lockId,
    target: formatLockTarget(lock.target),
    holder: lock.holder,
    action: lock.action,
    requestedAt: lock.requestedAt?.toISOString() ?? null,
    hostname: lock.hostname,
    fencingToken: lock.fencingToken,
    held: lock.held,
  };
}

/** The lock's queue, or undefined when it cannot be read (the original error is then kept). */
async function queue(ctx: CommandContext, target: LockTarget): Promise<LockInfo[] | undefined> {
  const g = ctx.topo.global;
  try {
    return (await ctx.topo.call(g.listLocks.bind(g), { target })).locks;
  } catch {
    return undefined;
  }
}

function describeHolder(lock: LockInfo): string {
  const since = lock.requestedAt ? ` since ${formatDate(lock.requestedAt)}` : '';
  return `${lock.holder || 'an unnamed holder'}${lock.hostname ? ` on ${lock.hostname}` : ''} for ${JSON.stringify(lock.action)}${since} (lock id ${lock.lockId}, fencing token ${lock.fencingToken})`;
}

/**
 * NOT_FOUND for a lock names what is missing: the keyspace or the shard, as topoctl's other
 * commands do, rather than the lock directory the store could not find.
 */
async function missingTarget(ctx: CommandContext, target: LockTarget): Promise<CallFailure | undefined> {
  if (target.kind === LockKind.LOCK_KIND_NAMED) return undefined;
  const g = ctx.topo.global;
  const missing = async (call: Promise<unknown>): Promise<boolean> =>
    call.then(
      () => false,
      (err: unknown) => isServiceError(err) && err.code === status.NOT_FOUND,
    );
  if (await missing(ctx.topo.call(g.getKeyspace.bind(g), { name: target.keyspace }))) {
    return new CallFailure(status.NOT_FOUND, `keyspace ${JSON.stringify(target.keyspace)} does not exist`);
  }
  if (target.kind === LockKind.LOCK_KIND_SHARD && (await missing(ctx.topo.call(g.getShard.bind(g), { keyspace: target.keyspace, name: target.shard })))) {
    return new CallFailure(status.NOT_FOUND, `shard ${JSON.stringify(`${target.keyspace}/${target.shard}`)} does not exist`);
  }
  return undefined;
}

/** Where a lock id (`keyspaces/ks/shards/-80/locks/N`) lives, as a target. */
function targetOfLockId(lockId: string): LockTarget | undefined {
  const shard = /^keyspaces\/([^/]+)\/shards\/([^/]+)\/locks\/[^/]+$/.exec(lockId);
  if (shard) return { kind: LockKind.LOCK_KIND_SHARD, keyspace: shard[1], shard: shard[2], name: '', path: '' };
  const keyspace = /^keyspaces\/([^/]+)\/locks\/[^/]+$/.exec(lockId);
  if (keyspace) return { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: keyspace[1], shard: '', name: '', path: '' };
  return undefined;
}

export const lockCommand: Command = {
  name: 'lock',
  summary: 'Take a keyspace or shard lock that lives for --ttl unless unlocked first',
  description: [
    'Prints the lock id and the fencing token; `topoctl unlock LOCK_ID TOKEN` releases it.',
    'Waits behind earlier holders for up to --wait (default: --timeout).',
  ].join('\n'),
  args: [{ name: 'KEYSPACE[/SHARD]' }],
  options: {
    action: { type: 'string', value: 'TEXT', description: 'why the lock is taken (required)' },
    ttl: {
      type: 'string',
      value: 'DURATION',
      description: `how long the lock lives, whole seconds from 1s to 1h (default ${DEFAULT_TTL})`,
    },
    holder: { type: 'string', value: 'TEXT', description: 'who holds it (default: topoctl user@host)' },
    wait: { type: 'string', value: 'DURATION', description: 'give up waiting after this long (default: --timeout)' },
    try: { type: 'boolean', description: 'fail with ALREADY_EXISTS at once when anyone holds or waits for it' },
  },
  examples: [
    'topoctl lock commerce --action "resharding by alice"',
    'topoctl lock commerce/-80 --action "reparent" --ttl 5m',
    'topoctl lock named:commerce.wf1 --action "workflow"',
  ],
  async run(ctx) {
    const target = parseLockTarget(ctx.args[0]);
    const action = ctx.required('action');
    const ttlMs = parseWholeSeconds(ctx.string('ttl') ?? DEFAULT_TTL, 'ttl', MIN_TTL_S, MAX_TTL_S);
    const waitMs = ctx.string('wait') === undefined ? ctx.settings.timeoutMs : parseDuration(ctx.required('wait'), 'wait');
    if (ctx.flag('try') && target.kind === LockKind.LOCK_KIND_NAMED) throw new UsageError('--try is not supported for named locks');
    const g = ctx.topo.global;
    const res = await ctx.topo
      .call(
        g.acquireLock.bind(g),
        {
          target,
          holder: ctx.string('holder') ?? defaultHolder(),
          action,
          waitTimeout: durationMessage(waitMs),
          tryOnly: ctx.flag('try'),
          ttl: durationMessage(ttlMs),
        },
        waitMs + WAIT_MARGIN_MS,
      )
      .catch(async (err: unknown) => {
        if (!isServiceError(err)) throw err;
        const name = formatLockTarget(target);
        if (err.code === status.NOT_FOUND) throw (await missingTarget(ctx, target)) ?? err;
        if (err.code === status.ALREADY_EXISTS || err.code === status.DEADLINE_EXCEEDED) {
          const locks = await queue(ctx, target);
          const holder = locks?.find((l) => l.held);
          if (holder === undefined) throw err;
          const waiting = locks!.filter((l) => !l.held).length;
          const behind = waiting === 0 ? '' : `; ${waiting} waiting`;
          const what = err.code === status.ALREADY_EXISTS ? `${name} is locked` : `gave up waiting for ${name} after ${waitMs / 1000} s: it is locked`;
          throw new CallFailure(err.code, `${what} by ${describeHolder(holder)}${behind}`);
        }
        throw err;
      });
    const lockId = res.grant?.lockId ?? '';
    const token = res.grant?.fencingToken ?? '0';
    const expiresAt = res.expiresAt?.toISOString() ?? null;
    ctx.out.result({ lockId, fencingToken: token, target: formatLockTarget(target), expiresAt }, () =>
      ctx.out.fields([
        ['lock id', lockId],
        ['fencing token', token],
        ['expires at', expiresAt ?? ''],
        ['release with', `topoctl unlock ${lockId} ${token}`],
      ]),
    );
  },
};

export const unlockCommand: Command = {
  name: 'unlock',
  summary: 'Release a lock, given its id and fencing token',
  args: [{ name: 'LOCK_ID' }, { name: 'TOKEN' }],
  examples: ['topoctl unlock keyspaces/commerce/locks/7587887398491373324 1234'],
  async run(ctx) {
    const [lockId, fencingToken] = ctx.args;
    if (!/^\d+$/.test(fencingToken)) throw new UsageError(`TOKEN ${JSON.stringify(fencingToken)} must be the number printed by lock`);
    const g = ctx.topo.global;
    await ctx.topo.call(g.releaseLock.bind(g), { lockId, fencingToken }).catch(async (err: unknown) => {
      if (!isServiceError(err)) throw err;
      // Say which of the two it is: held under another token, or not held at all.
      const target = targetOfLockId(lockId);
      const locks = target === undefined ? undefined : await queue(ctx, target);
      if (locks === undefined) throw err;
      const lock = locks.find((l) => l.lockId === lockId);
      if (lock === undefined) throw new CallFailure(err.code, `lock ${lockId} is not held: it expired or was released`);
      if (lock.fencingToken !== BigInt(fencingToken).toString()) {
        throw new CallFailure(err.code, `lock ${lockId} is held with fencing token ${lock.fencingToken}, not ${fencingToken}: pass the token \`lock\` printed`);
      }
      throw err;
    });
    ctx.out.result({ lockId, released: true }, () => ctx.out.line(`released ${lockId}`));
  },
};

export const locksCommand: Command = {
  name: 'locks',
  summary: 'List the locks held and waited for, on one target or everywhere',
  args: [{ name: 'KEYSPACE[/SHARD]', optional: true }],
  examples: ['topoctl locks', 'topoctl locks commerce/-80 --json'],
  async run(ctx) {
    const target = ctx.args[0] === undefined ? undefined : parseLockTarget(ctx.args[0]);
    const g = ctx.topo.global;
    // An empty list for a keyspace or shard that does not exist would read as "unlocked".
    const missing = target === undefined ? undefined : await missingTarget(ctx, target);
    if (missing !== undefined) throw missing;
    const { locks } = await ctx.topo.call(g.listLocks.bind(g), { target });
    ctx.out.result(locks.map(lockJson), () =>
      ctx.out.table(
        ['lock id', 'target', 'holder', 'action', 'since', 'token', 'held'],
        locks.map((lock) => [
          lock.lockId,
          formatLockTarget(lock.target),
          lock.holder,
          lock.action,
          formatDate(lock.requestedAt),
          lock.fencingToken,
          yesNo(lock.held),
        ]),
      ),
    );
  },
};
