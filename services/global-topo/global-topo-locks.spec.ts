import { Metadata, status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { Keyspace } from '../../libs/proto';
import { LockKind, type GlobalTopoServiceClient, type LockRequest, type LockResponse, type LockTarget } from '../../libs/proto/gen/topo/global/v1/global';
import { call, codeOf, StreamReader } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;

beforeEach(async () => {
  topo = await startGlobalTopo(etcd().endpoints, { lockTtlSeconds: 2 });
  await call(topo.client.createKeyspace.bind(topo.client), { name: 'ks', keyspace: undefined });
  await call(topo.client.createShard.bind(topo.client), { keyspace: 'ks', name: '-80' });
});
afterEach(async () => {
  await topo.stop();
});

const shardTarget: LockTarget = { kind: LockKind.LOCK_KIND_SHARD, keyspace: 'ks', shard: '-80', name: '', path: '' };

function holdLock(client: GlobalTopoServiceClient, action: string, waitMs?: number): StreamReader<LockResponse> {
  return new StreamReader(
    client.lock(
      {
        target: shardTarget,
        holder: action,
        action,
        waitTimeout: waitMs === undefined ? undefined : { seconds: String(Math.floor(waitMs / 1000)), nanos: (waitMs % 1000) * 1e6 },
        tryOnly: false,
      },
      new Metadata(),
    ),
  );
}

async function granted(reader: StreamReader<LockResponse>): Promise<{ lockId: string; fencingToken: string }> {
  const message = await reader.next();
  if (message.event?.$case !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(message)}`);
  return message.event.value;
}

const lockKeys = async (): Promise<string[]> => (await topo.store.list('keyspaces/ks/shards/-80/locks/')).map((kv) => kv.path);

describe('global-topo locks', () => {
  it('grants a contended lock to clients in FIFO order as each stream closes', async () => {
    const clients = [topo.newClient(), topo.newClient(), topo.newClient(), topo.newClient()];
    const first = holdLock(clients[0], 'first');
    const firstGrant = await granted(first);
    const waiters: Array<StreamReader<LockResponse>> = [];
    for (const [i, name] of ['second', 'third', 'fourth'].entries()) {
      waiters.push(holdLock(clients[i + 1], name));
      // Each waiter's key must be written before the next one asks.
      for (let tries = 0; (await lockKeys()).length < i + 2 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 20));
    }
    const order: string[] = [];
    const tokens = [BigInt(firstGrant.fencingToken)];
    first.cancel();
    for (const [i, waiter] of waiters.entries()) {
      const grant = await granted(waiter);
      order.push(['second', 'third', 'fourth'][i]);
      tokens.push(BigInt(grant.fencingToken));
      waiter.cancel();
    }
    expect(order).toEqual(['second', 'third', 'fourth']);
    expect([...tokens].sort((a, b) => (a < b ? -1 : 1))).toEqual(tokens);
    for (let tries = 0; (await lockKeys()).length > 0 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 20));
    expect(await lockKeys()).toEqual([]);
  });

  it('tells a stream holder its lease is lost, refuses its fenced write, and lets the next holder write', async () => {
    const stale = holdLock(topo.newClient(), 'stale');
    const staleGrant = await granted(stale);
    const next = holdLock(topo.newClient(), 'next');
    const lease = BigInt(`0x${staleGrant.lockId.split('/').pop()}`);
    await topo.store.revokeLease(lease);
    const lost = await stale.next();
    expect(lost.event?.$case).toBe('lost');
    const nextGrant = await granted(next);

    const keyspace = Keyspace.fromPartial({ durabilityPolicy: 'by stale holder' });
    const staleWrite = call(topo.client.updateKeyspace.bind(topo.client), {
      name: 'ks',
      keyspace,
      version: '0',
      fence: { lockId: staleGrant.lockId, fencingToken: staleGrant.fencingToken },
    });
    expect(await codeOf(staleWrite)).toBe(status.FAILED_PRECONDITION);
    const staleShardWrite = call(topo.client.updateShardFields.bind(topo.client), {
      keyspace: 'ks',
      name: '-80',
      primaryAlias: { cell: 'zone1', uid: 1 },
      clearPrimaryAlias: false,
      primaryTermStartTime: undefined,
      isPrimaryServing: undefined,
      version: '0',
      fence: { lockId: staleGrant.lockId, fencingToken: staleGrant.fencingToken },
    });
    expect(await codeOf(staleShardWrite)).toBe(status.FAILED_PRECONDITION);
    expect((await call(topo.client.getShard.bind(topo.client), { keyspace: 'ks', name: '-80' })).shard?.primaryAlias).toBeUndefined();

    const shard = await call(topo.client.updateShardFields.bind(topo.client), {
      keyspace: 'ks',
      name: '-80',
      primaryAlias: { cell: 'zone1', uid: 2 },
      clearPrimaryAlias: false,
      primaryTermStartTime: undefined,
      isPrimaryServing: undefined,
      version: '0',
      fence: { lockId: nextGrant.lockId, fencingToken: nextGrant.fencingToken },
    });
    expect(shard.shard?.primaryAlias).toEqual({ cell: 'zone1', uid: 2 });
    next.cancel();
  });

  it('removes the key of a waiter that gives up, by timeout or by cancelling', async () => {
    const holder = holdLock(topo.newClient(), 'holder');
    const grant = await granted(holder);
    const timedOut = holdLock(topo.newClient(), 'impatient', 300);
    expect(((await timedOut.closed()) as { code?: number }).code).toBe(status.DEADLINE_EXCEEDED);
    const cancelled = holdLock(topo.newClient(), 'cancelled');
    for (let tries = 0; (await lockKeys()).length < 2 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 20));
    cancelled.cancel();
    for (let tries = 0; (await lockKeys()).length > 1 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 20));
    expect(await lockKeys()).toEqual([grant.lockId]);
    holder.cancel();
  });

  it('serves the TTL form for grpcurl users: acquire, list, refuse a second try, release', async () => {
    const c = topo.client;
    const acquired = await call(c.acquireLock.bind(c), {
      target: shardTarget,
      holder: 'operator',
      action: 'manual repair',
      waitTimeout: undefined,
      tryOnly: false,
      ttl: { seconds: '30', nanos: 0 },
    });
    const listed = await call(c.listLocks.bind(c), { target: shardTarget });
    expect(listed.locks.map((l) => [l.lockId, l.holder, l.action, l.held, l.fencingToken])).toEqual([
      [acquired.grant?.lockId, 'operator', 'manual repair', true, acquired.grant?.fencingToken],
    ]);
    expect((await call(c.listLocks.bind(c), { target: undefined })).locks.map((l) => l.lockId)).toEqual([acquired.grant?.lockId]);
    const again = call(c.acquireLock.bind(c), {
      target: shardTarget,
      holder: 'other',
      action: 'x',
      waitTimeout: undefined,
      tryOnly: true,
      ttl: { seconds: '30', nanos: 0 },
    });
    expect(await codeOf(again)).toBe(status.ALREADY_EXISTS);
    expect(
      await codeOf(call(c.releaseLock.bind(c), { lockId: acquired.grant!.lockId, fencingToken: String(BigInt(acquired.grant!.fencingToken) + 1n) })),
    ).toBe(status.FAILED_PRECONDITION);
    await call(c.releaseLock.bind(c), { lockId: acquired.grant!.lockId, fencingToken: acquired.grant!.fencingToken });
    expect((await call(c.listLocks.bind(c), { target: shardTarget })).locks).toEqual([]);
  });

  it('expires a TTL lock nobody releases', async () => {
    const c = topo.client;
    await call(c.acquireLock.bind(c), {
      target: shardTarget,
      holder: 'forgetful',
      action: 'x',
      waitTimeout: undefined,
      tryOnly: false,
      ttl: { seconds: '1', nanos: 0 },
    });
    const next = holdLock(topo.newClient(), 'next', 5000);
    await granted(next);
    next.cancel();
  });
});

describe('global-topo elections', () => {
  it('elects one campaigner, streams leader changes, and hands over when the leader withdraws', async () => {
    const c = topo.client;
    const first = new StreamReader(topo.newClient().campaign({ election: 'vtctld', id: 'first' }, new Metadata()));
    expect((await first.next()).event).toMatchObject({ $case: 'elected', value: { id: 'first' } });
    const second = new StreamReader(topo.newClient().campaign({ election: 'vtctld', id: 'second' }, new Metadata()));
    const watcher = new StreamReader(c.watchLeader({ election: 'vtctld' }, new Metadata()));
    expect((await watcher.next()).leaderId).toBe('first');
    expect((await call(c.getLeader.bind(c), { election: 'vtctld' })).leaderId).toBe('first');
    first.cancel();
    expect((await second.next()).event).toMatchObject({ $case: 'elected', value: { id: 'second' } });
    expect((await watcher.next()).leaderId).toBe('second');
    second.cancel();
    watcher.cancel();
  });

  it('resigns through ReleaseLock on the leadership lock, answering once the next campaigner can lead', async () => {
    const c = topo.client;
    const first = new StreamReader(topo.newClient().campaign({ election: 'vtorc', id: 'first' }, new Metadata()));
    const elected = (await first.next()).event;
    if (elected?.$case !== 'elected') throw new Error(`expected elected, got ${JSON.stringify(elected)}`);
    expect(elected.value.lockId).toMatch(/^elections\/vtorc\/locks\/[0-9a-f]{16}$/);
    const second = new StreamReader(topo.newClient().campaign({ election: 'vtorc', id: 'second' }, new Metadata()));
    await until('the second campaigner queued', async () => (await topo.store.list('elections/vtorc/locks/')).length === 2);
    await call(c.releaseLock.bind(c), { lockId: elected.value.lockId, fencingToken: elected.value.fencingToken });
    // Acknowledged: the resigned key is gone when the call returns.
    expect((await topo.store.list('elections/vtorc/locks/')).map((kv) => kv.path)).not.toContain(elected.value.lockId);
    expect((await first.next()).event?.$case).toBe('lost');
    expect((await second.next()).event).toMatchObject({ $case: 'elected', value: { id: 'second' } });
    expect(await codeOf(call(c.releaseLock.bind(c), { lockId: elected.value.lockId, fencingToken: elected.value.fencingToken }))).toBe(
      status.FAILED_PRECONDITION,
    );
    second.cancel();
  });

  it("runs elections named by '/'-separated segments apart from each other, and refuses bad segments", async () => {
    const a = new StreamReader(topo.newClient().campaign({ election: 'suite-1/vtctld', id: 'a' }, new Metadata()));
    const b = new StreamReader(topo.newClient().campaign({ election: 'suite-2/vtctld', id: 'b' }, new Metadata()));
    expect((await a.next()).event).toMatchObject({ $case: 'elected', value: { id: 'a' } });
    expect((await b.next()).event).toMatchObject({ $case: 'elected', value: { id: 'b' } });
    for (const election of ['suite-1//vtctld', 'suite-1/../vtctld', '/vtctld', 'a/b c']) {
      expect(await codeOf(new StreamReader(topo.newClient().campaign({ election, id: 'x' }, new Metadata())).next())).toBe(status.INVALID_ARGUMENT);
    }
    a.cancel();
    b.cancel();
  });

  it('tells the leader when it loses leadership', async () => {
    const leader = new StreamReader(topo.newClient().campaign({ election: 'vtctld', id: 'leader' }, new Metadata()));
    await leader.next();
    const [key] = await topo.store.list('elections/vtctld/locks/');
    await topo.store.delete(key.path, null);
    expect((await leader.next()).event?.$case).toBe('lost');
  });
});

describe('global-topo locks with Vitess topo.Conn semantics', () => {
  const pathTarget = (path: string): LockTarget => ({ kind: LockKind.LOCK_KIND_PATH, keyspace: '', shard: '', name: '', path });
  const namedTarget = (name: string): LockTarget => ({ kind: LockKind.LOCK_KIND_NAMED, keyspace: '', shard: '', name, path: '' });
  const streamLock = (target: LockTarget, extra: Partial<LockRequest> = {}): StreamReader<LockResponse> =>
    new StreamReader(topo.newClient().lock({ target, holder: '', action: '', tryOnly: false, ...extra }, new Metadata()));
  const c = (): GlobalTopoServiceClient => topo.client;

  it('locks any existing directory (routing_rules) with contents stored verbatim, shown by ListLocks', async () => {
    await call(topo.path.create.bind(topo.path), { path: '/routing_rules/keyspace/Rules', contents: Buffer.alloc(0) });
    // What Vitess's LockRoutingRules sends: indented JSON, newlines included.
    const contents = '{\n  "Action": "ApplyRoutingRules",\n  "HostName": "vtctld-0",\n  "UserName": "vitess",\n  "Time": "now"\n}';
    const lock = streamLock(pathTarget('/routing_rules'), { contents });
    const grant = await granted(lock);
    expect(grant.lockId).toMatch(/^routing_rules\/locks\/[0-9a-f]{16}$/);
    expect(Buffer.from((await topo.store.get(grant.lockId)).contents).toString()).toBe(contents);
    const listed = (await call(c().listLocks.bind(c()), { target: pathTarget('routing_rules/') })).locks;
    expect(listed).toMatchObject([{ lockId: grant.lockId, held: true, contents, action: 'ApplyRoutingRules', holder: 'vitess', hostname: 'vtctld-0' }]);
    expect((await call(c().listLocks.bind(c()), { target: undefined })).locks.map((l) => l.lockId)).toContain(grant.lockId);
    lock.cancel();
  });

  it('takes a lock with empty contents, as Vitess\'s suite does, and shows the same lock as a keyspace lock', async () => {
    const lock = streamLock(pathTarget('/keyspaces/ks'), { contents: '' });
    const grant = await granted(lock);
    const asKeyspace = (await call(c().listLocks.bind(c()), { target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks', shard: '', name: '', path: '' } })).locks;
    expect(asKeyspace).toMatchObject([{ lockId: grant.lockId, contents: '', held: true, target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks' } }]);
    lock.cancel();
  });

  it('try-locks every kind: ALREADY_EXISTS while a path or named lock is held', async () => {
    for (const target of [pathTarget('keyspaces/ks'), namedTarget('resharding.wf')]) {
      const held = streamLock(target, { contents: 'first' });
      const grant = await granted(held);
      expect(await codeOf(streamLock(target, { contents: 'second', tryOnly: true }).next())).toBe(status.ALREADY_EXISTS);
      await call(c().releaseLock.bind(c()), { lockId: grant.lockId, fencingToken: grant.fencingToken });
      const again = streamLock(target, { contents: 'second', tryOnly: true });
      await granted(again);
      again.cancel();
      held.cancel();
    }
  });

  it('takes a named lock on a path that need not exist, as topo.Conn LockName does', async () => {
    const target: LockTarget = { kind: LockKind.LOCK_KIND_NAMED, keyspace: '', shard: '', name: '', path: '/suite-1/internal/named_locks/wf' };
    const lock = streamLock(target, { contents: 'named' });
    const grant = await granted(lock);
    expect(grant.lockId).toMatch(/^suite-1\/internal\/named_locks\/wf\/locks\/[0-9a-f]{16}$/);
    expect(await codeOf(streamLock(target, { contents: 'again', tryOnly: true }).next())).toBe(status.ALREADY_EXISTS);
    lock.cancel();
  });

  it('keeps a lock with a caller-chosen TTL alive past that TTL until ReleaseLock, which answers once it is free', async () => {
    const lock = streamLock(pathTarget('keyspaces/ks'), { contents: 'long job', ttl: { seconds: '1', nanos: 0 } });
    const grant = await granted(lock);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await call(c().listLocks.bind(c()), { target: pathTarget('keyspaces/ks') })).locks).toMatchObject([{ lockId: grant.lockId, held: true }]);
    await call(c().releaseLock.bind(c()), { lockId: grant.lockId, fencingToken: grant.fencingToken });
    // Acknowledged: a try-lock right after the release is granted.
    const next = streamLock(pathTarget('keyspaces/ks'), { contents: 'next', tryOnly: true });
    await granted(next);
    expect((await lock.next()).event?.$case).toBe('lost');
    const again = await call(c().releaseLock.bind(c()), { lockId: grant.lockId, fencingToken: grant.fencingToken }).catch((e: { code: number; details: string }) => e);
    expect(again).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect((again as { details: string }).details).toMatch(/^LockLost: /);
    next.cancel();
  });

  it.each<[string, LockTarget, Partial<LockRequest>, status]>([
    ['contents and an action', pathTarget('keyspaces/ks'), { contents: 'x', action: 'y' }, status.INVALID_ARGUMENT],
    ['no path', pathTarget(''), { contents: '' }, status.INVALID_ARGUMENT],
    ['the root', pathTarget('/'), { contents: '' }, status.INVALID_ARGUMENT],
    ['a .. segment', pathTarget('/keyspaces/../ks'), { contents: '' }, status.INVALID_ARGUMENT],
    ['a NUL', pathTarget('/keyspaces/k\u0000s'), { contents: '' }, status.INVALID_ARGUMENT],
    ['an empty segment', pathTarget('//keyspaces/ks'), { contents: '' }, status.INVALID_ARGUMENT],
    ['a missing directory', pathTarget('/keyspaces/nope'), { contents: '' }, status.NOT_FOUND],
    ['a sub-second TTL', pathTarget('keyspaces/ks'), { contents: '', ttl: { seconds: '0', nanos: 500e6 } }, status.INVALID_ARGUMENT],
    ['contents over 1 MiB', pathTarget('keyspaces/ks'), { contents: 'x'.repeat(1024 * 1024 + 1) }, status.INVALID_ARGUMENT],
    ['no action and no contents', pathTarget('keyspaces/ks'), {}, status.INVALID_ARGUMENT],
  ])('refuses a lock with %s, leaving no lock key behind', async (_what, target, extra, code) => {
    expect(await codeOf(streamLock(target, extra).next())).toBe(code);
    expect((await topo.store.list('')).filter((kv) => kv.path.includes('/locks/'))).toEqual([]);
  });
});
