import { hostname } from 'node:os';
import { TopoErrorCode } from '../store';
import { Keyspaces } from './keyspace';
import { Locks, parseLockContents } from './locks';
import { expectRefused, rejection, useMemoryStore } from './private/memory-store.fixture';
import { Shards } from './shard';

const store = useMemoryStore();
const locks = (): Locks => new Locks(store());

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met within 1 s');
}

beforeEach(async () => {
  await new Keyspaces(store()).create('ks');
  await new Shards(store()).create('ks', '-80');
});

describe('Locks', () => {
  it('records who, what and when in the lock contents, and lists the holder with its token', async () => {
    const before = Date.now();
    const lock = await locks().lockKeyspace('ks', 'Reshard', { holder: 'operator@example' });
    const [info] = await locks().keyspaceLocks('ks');
    expect(info).toMatchObject({ path: lock.path, token: lock.token, leaseId: lock.leaseId, held: true });
    expect(info.contents).toEqual({
      action: 'Reshard',
      holder: 'operator@example',
      hostname: hostname(),
      pid: process.pid,
      time: expect.any(String),
    });
    expect(Date.parse(info.contents!.time)).toBeGreaterThanOrEqual(before - 1000);
    expect(JSON.parse(info.raw)).toEqual(info.contents);
    expect(lock.path.startsWith('keyspaces/ks/locks/')).toBe(true);
    await lock.unlock();
    expect(await locks().keyspaceLocks('ks')).toEqual([]);
  });

  it('lists waiters after the holder in the order they will get the lock', async () => {
    const first = await locks().lockShard('ks', '-80', 'PlannedReparentShard');
    const second = locks().lockShard('ks', '-80', 'EmergencyReparentShard');
    await until(async () => (await locks().shardLocks('ks', '-80')).length === 2);
    const queue = await locks().shardLocks('ks', '-80');
    expect(queue.map((entry) => [entry.contents?.action, entry.held])).toEqual([
      ['PlannedReparentShard', true],
      ['EmergencyReparentShard', false],
    ]);
    expect(queue[0].token).toBeLessThan(queue[1].token);
    await first.unlock();
    const next = await second;
    expect(next.token).toBe(queue[1].token);
    expect((await locks().shardLocks('ks', '-80')).map((entry) => entry.held)).toEqual([true]);
    await next.unlock();
  });

  it('gives a later grant of the same lock a larger fencing token', async () => {
    const first = await locks().lockKeyspace('ks', 'a');
    await first.unlock();
    const second = await locks().lockKeyspace('ks', 'b');
    expect(second.token).toBeGreaterThan(first.token);
    await second.unlock();
  });

  it('refuses a non-blocking lock while another holds it', async () => {
    const held = await locks().lockKeyspace('ks', 'a');
    await expectRefused(store(), () => locks().lockKeyspace('ks', 'b', { nonBlocking: true }), TopoErrorCode.NodeExists);
    await held.unlock();
  });

  it('times out a wait after timeoutMs and leaves no key behind', async () => {
    const held = await locks().lockKeyspace('ks', 'a');
    await expectRefused(store(), () => locks().lockKeyspace('ks', 'b', { timeoutMs: 50 }), TopoErrorCode.Timeout);
    await held.unlock();
  });

  it('refuses to lock a shard or keyspace that does not exist', async () => {
    await expectRefused(store(), () => locks().lockShard('ks', '80-', 'x'), TopoErrorCode.NoNode);
    await expectRefused(store(), () => locks().lockKeyspace('nope', 'x'), TopoErrorCode.NoNode);
  });

  it('takes a named lock whose directory does not exist, and lists it', async () => {
    const lock = await locks().lockNamed('ks.workflow', 'MoveTables', { ttlSeconds: 30 });
    expect(lock.path.startsWith('internal/named_locks/ks.workflow/locks/')).toBe(true);
    const [info] = await locks().namedLocks('ks.workflow');
    expect(info).toMatchObject({ token: lock.token, held: true, contents: { action: 'MoveTables' } });
    await lock.unlock();
  });

  it.each([
    ['an empty action', () => locks().lockKeyspace('ks', ''), 'action: '],
    ['a control character in the holder', () => locks().lockKeyspace('ks', 'a', { holder: 'x\ny' }), 'holder: '],
    ['a bad named-lock name', () => locks().lockNamed('../x', 'a'), 'lock_name: '],
    ['a bad shard name', () => locks().lockShard('ks', '80-40', 'a'), 'shard: '],
  ])('refuses %s without writing', async (_, take, field) => {
    const err = await expectRefused(store(), take, TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(field);
  });

  it('parses only the contents format it writes, leaving others to raw', async () => {
    expect(parseLockContents('{"Action":"Vitess","HostName":"h"}')).toBeUndefined();
    expect(parseLockContents('not json')).toBeUndefined();
    expect(parseLockContents('{"action":"a","holder":"h","hostname":"x","pid":1,"time":"t"}')).toEqual({
      action: 'a',
      holder: 'h',
      hostname: 'x',
      pid: 1,
      time: 't',
    });
  });

  it('loses the lock when its lease is revoked, and the loss is visible to the holder', async () => {
    const lock = await locks().lockKeyspace('ks', 'a');
    await store().revokeLease(lock.leaseId);
    expect((await rejection(lock.check())).code).toBe(TopoErrorCode.LockLost);
    expect(await locks().keyspaceLocks('ks')).toEqual([]);
  });

  it('lists every lock queue: keyspace, shard and named', async () => {
    const keyspace = await locks().lockKeyspace('ks', 'Reshard');
    const shard = await locks().lockShard('ks', '-80', 'PlannedReparentShard');
    const named = await locks().lockNamed('workflow.copy', 'MoveTables');
    const all = await locks().allLocks();
    expect(all.map((info) => [info.path, info.token, info.held, info.contents?.action])).toEqual([
      [named.path, named.token, true, 'MoveTables'],
      [keyspace.path, keyspace.token, true, 'Reshard'],
      [shard.path, shard.token, true, 'PlannedReparentShard'],
    ]);
    await Promise.all([keyspace.unlock(), shard.unlock(), named.unlock()]);
    expect(await locks().allLocks()).toEqual([]);
  });

  it('releases a lock by path and token from anywhere, and refuses a stale token', async () => {
    const lock = await locks().lockKeyspace('ks', 'Reshard', { keepAlive: false, ttlSeconds: 30 });
    await expectRefused(store(), () => locks().release(lock.path, lock.token - 1n), TopoErrorCode.LockLost);
    await expectRefused(store(), () => locks().release('keyspaces/ks/Keyspace', lock.token), TopoErrorCode.InvalidArgument);
    await locks().release(lock.path, lock.token);
    expect(await locks().keyspaceLocks('ks')).toEqual([]);
    expect((await rejection(store().keepAliveLease(lock.leaseId))).code).toBe(TopoErrorCode.NoNode);
    const next = await locks().lockKeyspace('ks', 'Next', { timeoutMs: 1000 });
    await next.unlock();
  });

  it('leaves a lock taken without keepalive to its TTL', async () => {
    const lock = await locks().lockKeyspace('ks', 'grpcurl user', { keepAlive: false, ttlSeconds: 1 });
    const next = await locks().lockKeyspace('ks', 'Next', { timeoutMs: 5000 });
    expect(next.token).toBeGreaterThan(lock.token);
    await next.unlock();
  });
});
