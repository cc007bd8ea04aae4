import { hostname, userInfo } from 'node:os';
import { LockKind, type LockInfo, type LockTarget } from '../../proto/gen/topo/global/v1/global';
import { durationMessage, parseDuration } from './argument-values';
import { UsageError, type Command } from './command';
import { formatDate, yesNo } from './record-format';

const DEFAULT_TTL = '60s';
/** Room for the server to answer DEADLINE_EXCEEDED itself (and drop its queued key) before the call's own deadline. */
const WAIT_MARGIN_MS = 2000;

/** `KS`, `KS/SHARD`, or `named:NAME` for a named lock. */
export function parseLockTarget(text: string): LockTarget {
  if (text.startsWith('named:') && text.length > 'named:'.length) {
    return { kind: LockKind.LOCK_KIND_NAMED, keyspace: '', shard: '', name: text.slice('named:'.length) };
  }
  const parts = text.split('/');
  if (parts.length === 1 && parts[0] !== '') return { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: parts[0], shard: '', name: '' };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') {
    return { kind: LockKind.LOCK_KIND_SHARD, keyspace: parts[0], shard: parts[1], name: '' };
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
    const ttlMs = parseDuration(ctx.string('ttl') ?? DEFAULT_TTL, 'ttl');
    const waitMs = ctx.string('wait') === undefined ? ctx.settings.timeoutMs : parseDuration(ctx.required('wait'), 'wait');
    const g = ctx.topo.global;
    const res = await ctx.topo.call(
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
    );
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
    await ctx.topo.call(g.releaseLock.bind(g), { lockId, fencingToken });
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
    const { locks } = await ctx.topo.call(g.listLocks.bind(g), { target });
    ctx.out.result(locks.map(lockJson), () =>
      ctx.out.table(
        ['target', 'holder', 'action', 'since', 'token', 'held'],
        locks.map((lock) => [
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
