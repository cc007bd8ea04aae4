import { Tablet, TabletType } from '../proto';
import { TopoErrorCode, type Store } from '../store';
import { expectRefused, rejection, snapshot, useMemoryStore } from './private/memory-store.fixture';
import { newTablet, replicationNodes, sleep, versionOf } from './private/tablet.fixture';
import { Tablets } from './tablet';
import { TabletRegistry, type RegisterOptions } from './tablet-registry';

const store = useMemoryStore();
const registry = (): TabletRegistry => new TabletRegistry(store());
const tablets = (): Tablets => new Tablets(store());
const alias = (uid: number) => ({ cell: 'zone1', uid });

const TABLET = 'tablets/zone1-0000000100/Tablet';
const ALIVE = 'liveness/zone1-0000000100';
const GRAPH = 'keyspaces/ks/shards/-80/ShardReplication';

async function isAlive(uid: number): Promise<boolean> {
  return (await tablets().get(alias(uid))).alive;
}

async function leaseExists(s: Store, leaseId: bigint): Promise<boolean> {
  return s.keepAliveLease(leaseId).then(
    () => true,
    () => false,
  );
}

describe('TabletRegistry.register', () => {
  it('writes Tablet, Alive and the replication node in one commit', async () => {
    const registration = await registry().register(newTablet(100), { session: 'host-a' });
    expect(registration.ttlSeconds).toBe(10);
    expect(await versionOf(store(), TABLET)).toBe(registration.revision);
    expect(await versionOf(store(), ALIVE)).toBe(registration.revision);
    expect(await versionOf(store(), GRAPH)).toBe(registration.revision);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
    const record = await tablets().get(alias(100));
    expect(record.alive).toBe(true);
    expect(record.liveness).toMatchObject({ session: 'host-a', leaseId: registration.leaseId, ttlSeconds: 10 });
    // tablets/ holds only Tablet records, as Vitess expects; liveness is lease-bound, apart.
    expect((await store().listDir('tablets/zone1-0000000100')).map((e) => [e.name, e.ephemeral])).toEqual([['Tablet', false]]);
    expect((await store().listDir('liveness')).map((e) => [e.name, e.ephemeral])).toEqual([['zone1-0000000100', true]]);
  });

  it('binds only Alive to the lease: when it expires the record and its node stay', async () => {
    await registry().register(newTablet(100), { session: 'host-a', ttlSeconds: 1 });
    const before = await versionOf(store(), TABLET);
    await sleep(1500);
    expect(await versionOf(store(), ALIVE)).toBeUndefined();
    expect(await versionOf(store(), TABLET)).toBe(before);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
    expect(await isAlive(100)).toBe(false);
  });

  it('stays alive past its TTL while the lease is kept alive', async () => {
    const { leaseId } = await registry().register(newTablet(100), { session: 'host-a', ttlSeconds: 1 });
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      expect(await registry().keepAlive(leaseId)).toBe(1);
    }
    expect(await isAlive(100)).toBe(true);
  });

  it('answers NoNode to a keepalive of an expired lease', async () => {
    const { leaseId } = await registry().register(newTablet(100), { session: 'host-a', ttlSeconds: 1 });
    await sleep(1500);
    const err = await rejection(registry().keepAlive(leaseId));
    expect(err.code).toBe(TopoErrorCode.NoNode);
    expect(err.message).toContain(`lease ${leaseId} doesn't exist`);
  });

  it('refuses a second session while the first is alive, naming the holder', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a' });
    const err = await expectRefused(
      store(),
      () => registry().register(newTablet(100, { hostname: 'b.example' }), { session: 'host-b' }),
      TopoErrorCode.NodeExists,
    );
    expect(err.message).toContain(`tablet "zone1-0000000100" is registered by session "host-a" (lease ${first.leaseId})`);
    // The lease granted for the refused attempt is revoked: only the first one exists.
    expect(await leaseExists(store(), first.leaseId)).toBe(true);
    expect(await leaseExists(store(), first.leaseId + 1n)).toBe(false);
  });

  it('lets a second session take over, revoking the first lease', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a' });
    const second = await registry().register(newTablet(100, { hostname: 'b.example' }), { session: 'host-b', takeover: true });
    expect(second.leaseId).not.toBe(first.leaseId);
    const record = await tablets().get(alias(100));
    expect(record.liveness).toMatchObject({ session: 'host-b', leaseId: second.leaseId });
    expect(record.tablet.hostname).toBe('b.example');
    expect(await leaseExists(store(), first.leaseId)).toBe(false);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
  });

  it('lets a second session register once the first lease has expired', async () => {
    await registry().register(newTablet(100), { session: 'host-a', ttlSeconds: 1 });
    await sleep(1500);
    await registry().register(newTablet(100), { session: 'host-b' });
    expect((await tablets().get(alias(100))).liveness?.session).toBe('host-b');
  });

  it('is idempotent for the same session: same lease, nothing rewritten, one node', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a' });
    const before = await snapshot(store());
    const again = await registry().register(newTablet(100), { session: 'host-a' });
    const resumed = await registry().register(newTablet(100), { session: 'host-a', leaseId: first.leaseId });
    expect(again).toEqual(first);
    expect(resumed).toEqual(first);
    expect(await snapshot(store())).toEqual(before);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
  });

  it('rewrites a changed tablet for the same session and keeps its lease', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a' });
    const again = await registry().register(newTablet(100, { type: TabletType.RDONLY }), { session: 'host-a' });
    expect(again.leaseId).toBe(first.leaseId);
    expect(again.revision).toBeGreaterThan(first.revision);
    expect((await tablets().get(alias(100))).tablet.type).toBe(TabletType.RDONLY);
    // The Alive key carries the routing fields watch filters use: rewritten in the same
    // transaction, on the same lease.
    expect(await versionOf(store(), ALIVE)).toBe(again.revision);
    const alive = JSON.parse(Buffer.from((await store().get(ALIVE)).contents).toString()) as Record<string, unknown>;
    expect(alive).toMatchObject({ keyspace: 'ks', shard: '-80', type: TabletType.RDONLY, lease_id: first.leaseId.toString() });
    await store().revokeLease(first.leaseId);
    expect((await tablets().get(alias(100))).alive).toBe(false);
  });

  it('moves the node when the tablet comes back in another shard', async () => {
    await registry().register(newTablet(100), { session: 'host-a' });
    const moved = await registry().register(newTablet(100, { shard: '80-' }), { session: 'host-a' });
    expect(await replicationNodes(store(), 'ks', '-80')).toBeUndefined();
    expect(await replicationNodes(store(), 'ks', '80-')).toEqual(['zone1-0000000100']);
    expect(await versionOf(store(), 'keyspaces/ks/shards/80-/ShardReplication')).toBe(moved.revision);
  });

  it('resumes an existing lease by id after a restart of the service', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a' });
    // A fresh registry over the same store: what a restarted cell-topo sees.
    const resumed = await new TabletRegistry(store()).register(newTablet(100), { session: 'host-a', leaseId: first.leaseId });
    expect(resumed.leaseId).toBe(first.leaseId);
    expect(await versionOf(store(), ALIVE)).toBe(first.revision);
  });

  it('grants a new lease when the one to resume has expired', async () => {
    const first = await registry().register(newTablet(100), { session: 'host-a', ttlSeconds: 1 });
    await sleep(1500);
    const resumed = await registry().register(newTablet(100), { session: 'host-a', leaseId: first.leaseId, ttlSeconds: 5 });
    expect(resumed.leaseId).not.toBe(first.leaseId);
    expect(resumed.ttlSeconds).toBe(5);
    expect(await isAlive(100)).toBe(true);
  });

  it.each([
    ['a new tablet', false],
    ['a tablet whose record exists, so only Alive is written', true],
  ])('of two sessions racing to register %s, exactly one wins', async (_, existing) => {
    for (let uid = 1; uid <= 5; uid++) {
      if (existing) await tablets().create(newTablet(uid));
      const sessions = ['host-a', 'host-b'];
      const results = await Promise.allSettled(sessions.map((session) => registry().register(newTablet(uid), { session })));
      const winners = sessions.filter((_, i) => results[i].status === 'fulfilled');
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0].reason).toMatchObject({ code: TopoErrorCode.NodeExists });
      expect((await tablets().get(alias(uid))).liveness?.session).toBe(winners[0]);
    }
    expect((await replicationNodes(store(), 'ks', '-80'))?.length).toBe(5);
  });

  describe('refuses bad input and leaves the store as it was', () => {
    const cases: Array<[string, Tablet, Partial<RegisterOptions>, string]> = [
      ['bad alias cell', newTablet(1, { alias: { cell: 'a/b', uid: 1 } }), {}, 'tablet.alias.cell:'],
      ['missing alias', newTablet(1, { alias: undefined }), {}, 'tablet.alias: is missing'],
      ['negative uid', newTablet(1, { alias: { cell: 'zone1', uid: -1 } }), {}, 'tablet.alias.uid:'],
      ['keyspace ..', newTablet(1, { keyspace: '..' }), {}, `tablet.keyspace: ".." has '.'`],
      ['keyspace with /', newTablet(1, { keyspace: 'a/b' }), {}, `tablet.keyspace: "a/b" has '/'`],
      ['keyspace with NUL', newTablet(1, { keyspace: 'a\u0000b' }), {}, 'tablet.keyspace: "a\\u0000b" has a control character (U+0000)'],
      ['shard ..', newTablet(1, { shard: '..' }), {}, 'tablet.shard:'],
      ['shard range not hex', newTablet(1, { shard: 'x0-' }), {}, `tablet.shard: "x0-" has 'x' in its start`],
      ['shard start above end', newTablet(1, { shard: '80-40' }), {}, 'tablet.shard: "80-40" has start 80 not below end 40'],
      [
        'key range not the shard',
        newTablet(1, { keyRange: { start: Buffer.of(0x40), end: Buffer.alloc(0) } }),
        {},
        'tablet.key_range: 40- is not the range of shard "-80"',
      ],
      ['unknown tablet type', newTablet(1, { type: 99 as TabletType }), {}, 'tablet.type: 99 is not a tablet type'],
      ['UNKNOWN tablet type', newTablet(1, { type: TabletType.UNKNOWN }), {}, 'tablet.type: UNKNOWN (0)'],
      ['port 70000', newTablet(1, { portMap: { vt: 70000 } }), {}, 'tablet.port_map["vt"]: 70000 is not a port'],
      ['negative port', newTablet(1, { portMap: { grpc: -1 } }), {}, 'tablet.port_map["grpc"]: -1 is not a port'],
      ['mysql port 70000', newTablet(1, { mysqlPort: 70000 }), {}, 'tablet.mysql_port: 70000 is not a port'],
      ['empty hostname', newTablet(1, { hostname: '' }), {}, 'tablet.hostname: is empty'],
      ['hostname with NUL', newTablet(1, { hostname: 'h\u0000' }), {}, 'tablet.hostname: "h\\u0000" has a control character'],
      ['hostname with a space', newTablet(1, { hostname: 'a b' }), {}, 'tablet.hostname: "a b" has a space'],
      ['hostname over 255', newTablet(1, { hostname: 'h'.repeat(256) }), {}, 'tablet.hostname: is 256 characters — at most 255'],
      ['ttl 0', newTablet(1), { ttlSeconds: 0 }, 'ttl_seconds: 0 is out of range — a whole number of seconds from 1 to 60'],
      ['ttl 61', newTablet(1), { ttlSeconds: 61 }, 'ttl_seconds: 61 is out of range'],
      ['ttl 1.5', newTablet(1), { ttlSeconds: 1.5 }, 'ttl_seconds: 1.5 is out of range'],
      ['empty session', newTablet(1), { session: '' }, 'session: is empty'],
      ['session with NUL', newTablet(1), { session: 'a\u0000' }, 'session: "a\\u0000" has a control character'],
      ['lease id 0', newTablet(1), { leaseId: 0n }, 'lease_id: 0 is not a lease id'],
    ];

    beforeEach(async () => {
      await registry().register(newTablet(1), { session: 'host-a' });
    });

    it.each(cases)('%s', async (_, tablet, options, message) => {
      const err = await expectRefused(
        store(),
        () => registry().register(tablet, { session: 'host-a', ...options }),
        TopoErrorCode.InvalidArgument,
      );
      expect(err.message).toContain(message);
    });
  });

  it('refuses a tablet of another cell when the registry serves one cell', async () => {
    const err = await expectRefused(
      store(),
      () => new TabletRegistry(store(), { cell: 'zone2' }).register(newTablet(1), { session: 'host-a' }),
      TopoErrorCode.InvalidArgument,
    );
    expect(err.message).toContain('tablet.alias.cell:');
  });

  it('refuses TTL bounds that make no sense', () => {
    expect(() => new TabletRegistry(store(), { minTtlSeconds: 5, maxTtlSeconds: 2 })).toThrow('max_ttl_seconds: 2 is below');
    expect(() => new TabletRegistry(store(), { defaultTtlSeconds: 90 })).toThrow('default_ttl_seconds: 90 is out of range');
  });
});

describe('TabletRegistry.unregister', () => {
  it('removes liveness at once and revokes the lease; the record and its node stay', async () => {
    const { leaseId } = await registry().register(newTablet(100), { session: 'host-a' });
    const tabletVersion = await versionOf(store(), TABLET);
    await registry().unregister(alias(100), 'host-a');
    expect(await isAlive(100)).toBe(false);
    expect(await versionOf(store(), TABLET)).toBe(tabletVersion);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
    expect(await leaseExists(store(), leaseId)).toBe(false);
    // The graceful close lets any session register again at once.
    await registry().register(newTablet(100), { session: 'host-b' });
  });

  it('with remove, deletes the record and the emptied replication graph in the same commit', async () => {
    await registry().register(newTablet(100), { session: 'host-a' });
    await registry().unregister(alias(100), 'host-a', { remove: true });
    expect(await store().list('')).toEqual([]);
  });

  it('refuses another session while the holder is alive', async () => {
    await registry().register(newTablet(100), { session: 'host-a' });
    const err = await expectRefused(store(), () => registry().unregister(alias(100), 'host-b'), TopoErrorCode.NodeExists);
    expect(err.message).toContain('registered by session "host-a"');
  });

  it('leaves a tablet that is no longer alive as it is, and is NoNode for an unknown one', async () => {
    await tablets().create(newTablet(100));
    const before = await snapshot(store());
    await registry().unregister(alias(100), 'host-a');
    expect(await snapshot(store())).toEqual(before);
    await expectRefused(store(), () => registry().unregister(alias(7), 'host-a'), TopoErrorCode.NoNode);
  });
});
