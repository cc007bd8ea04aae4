import { ShardReplication, TabletType } from '../proto';
import { TopoErrorCode } from '../store';
import { expectRefused, rejection, useMemoryStore } from './private/memory-store.fixture';
import { newTablet, replicationNodes, versionOf } from './private/tablet.fixture';
import { Tablets } from './tablet';
import { TabletRegistry } from './tablet-registry';

const store = useMemoryStore();
const tablets = (): Tablets => new Tablets(store());
const alias = (uid: number, cell = 'zone1') => ({ cell, uid });

describe('Tablets.create', () => {
  it('writes the record and its replication node in one commit', async () => {
    const created = await tablets().create(newTablet(100));
    expect(created.alive).toBe(false);
    expect(await versionOf(store(), 'tablets/zone1-0000000100/Tablet')).toBe(created.version);
    expect(await versionOf(store(), 'keyspaces/ks/shards/-80/ShardReplication')).toBe(created.version);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000100']);
    expect(await tablets().get(alias(100))).toEqual({ tablet: created.tablet, version: created.version, alive: false, liveness: undefined });
  });

  it('refuses a tablet that exists and leaves the store as it was', async () => {
    await tablets().create(newTablet(100));
    const err = await expectRefused(store(), () => tablets().create(newTablet(100, { shard: '80-' })), TopoErrorCode.NodeExists);
    expect(err.message).toContain('tablet "zone1-0000000100" already exists');
  });

  it('stores the canonical shard name and the maps in key order', async () => {
    const created = await tablets().create(newTablet(7, { shard: '80-C0', portMap: { vt: 1, grpc: 2, mysql: 3 } }));
    expect(created.tablet.shard).toBe('80-c0');
    expect(Object.keys(created.tablet.portMap)).toEqual(['grpc', 'mysql', 'vt']);
    expect(await replicationNodes(store(), 'ks', '80-c0')).toEqual(['zone1-0000000007']);
  });

  it('keeps every node when tablets of one shard are created concurrently', async () => {
    const uids = [9, 3, 12, 1, 5, 20, 7, 15];
    await Promise.all(uids.map((uid) => tablets().create(newTablet(uid))));
    const expected = [...uids].sort((a, b) => a - b).map((uid) => `zone1-${String(uid).padStart(10, '0')}`);
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(expected);
  });

  it('refuses a tablet of another cell when the topology serves one cell', async () => {
    const err = await expectRefused(
      store(),
      () => new Tablets(store(), { cell: 'zone2' }).create(newTablet(1)),
      TopoErrorCode.InvalidArgument,
    );
    expect(err.message).toContain('tablet.alias.cell: "zone1" is not this topology\'s cell "zone2"');
  });

  it('is NoNode for a tablet that does not exist', async () => {
    const err = await rejection(tablets().get(alias(1)));
    expect(err.code).toBe(TopoErrorCode.NoNode);
    expect(err.message).toContain(`tablet "zone1-0000000001" doesn't exist`);
  });
});

describe('Tablets.list', () => {
  beforeEach(async () => {
    await tablets().create(newTablet(10, { type: TabletType.PRIMARY, shard: '80-' }));
    await tablets().create(newTablet(2));
    await tablets().create(newTablet(1, { keyspace: 'other', shard: '0', type: TabletType.RDONLY }));
    await tablets().create(newTablet(3, { alias: alias(1, 'a') }));
  });

  const aliases = async (filter?: Parameters<Tablets['list']>[0]): Promise<string[]> =>
    (await tablets().list(filter)).map((record) => `${record.tablet.alias!.cell}-${record.tablet.alias!.uid}`);

  it('sorts by cell, then uid', async () => {
    expect(await aliases()).toEqual(['a-1', 'zone1-1', 'zone1-2', 'zone1-10']);
  });

  it.each([
    [{ keyspace: 'ks' }, ['a-1', 'zone1-2', 'zone1-10']],
    [{ keyspace: 'ks', shard: '80-' }, ['zone1-10']],
    [{ shard: '0' }, ['zone1-1']],
    [{ types: [TabletType.PRIMARY, TabletType.RDONLY] }, ['zone1-1', 'zone1-10']],
    [{ types: [] }, ['a-1', 'zone1-1', 'zone1-2', 'zone1-10']],
  ])('filters by %j', async (filter, expected) => {
    expect(await aliases(filter)).toEqual(expected);
  });

  it('refuses a bad filter', async () => {
    expect((await rejection(tablets().list({ types: [99 as TabletType] }))).message).toContain('filter.types[0]: 99 is not a tablet type');
    expect((await rejection(tablets().list({ shard: 'x0-' }))).message).toContain('filter.shard:');
  });

  it('reports which tablets are alive', async () => {
    await new TabletRegistry(store()).register(newTablet(2), { session: 'host2' });
    const alive = (await tablets().list()).filter((record) => record.alive).map((record) => record.tablet.alias!.uid);
    expect(alive).toEqual([2]);
  });
});

describe('Tablets.updateFields', () => {
  it('moves the node between replication graphs in the same commit, deleting the emptied graph', async () => {
    await tablets().create(newTablet(1));
    const moved = await tablets().updateFields(alias(1), (tablet) => {
      tablet.shard = '80-';
    });
    expect(moved.tablet.shard).toBe('80-');
    expect(await replicationNodes(store(), 'ks', '-80')).toBeUndefined();
    expect(await replicationNodes(store(), 'ks', '80-')).toEqual(['zone1-0000000001']);
    expect(await versionOf(store(), 'keyspaces/ks/shards/80-/ShardReplication')).toBe(moved.version);
    expect(await versionOf(store(), 'tablets/zone1-0000000001/Tablet')).toBe(moved.version);
  });

  it('keeps the other nodes of the graph it leaves', async () => {
    await tablets().create(newTablet(1));
    await tablets().create(newTablet(2));
    await tablets().updateFields(alias(1), (tablet) => {
      tablet.keyspace = 'other';
      tablet.shard = '0';
    });
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000002']);
    expect(await replicationNodes(store(), 'other', '0')).toEqual(['zone1-0000000001']);
  });

  it('applies concurrent changes one after the other', async () => {
    await tablets().create(newTablet(1));
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((tag) =>
        tablets().updateFields(alias(1), (tablet) => {
          tablet.tags[tag] = tag;
        }),
      ),
    );
    expect(Object.keys((await tablets().get(alias(1))).tablet.tags)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('writes nothing when the change returns false or changes nothing', async () => {
    const created = await tablets().create(newTablet(1));
    expect((await tablets().updateFields(alias(1), () => false)).version).toBe(created.version);
    expect((await tablets().updateFields(alias(1), () => undefined)).version).toBe(created.version);
  });

  it('refuses a stale version, a changed alias and an invalid value, leaving the store as it was', async () => {
    const created = await tablets().create(newTablet(1));
    await tablets().updateFields(alias(1), (tablet) => {
      tablet.hostname = 'moved.example';
    });
    await expectRefused(store(), () => tablets().updateFields(alias(1), () => undefined, { version: created.version }), TopoErrorCode.BadVersion);
    const renamed = await expectRefused(
      store(),
      () =>
        tablets().updateFields(alias(1), (tablet) => {
          tablet.alias = alias(2);
        }),
      TopoErrorCode.InvalidArgument,
    );
    expect(renamed.message).toContain('tablet.alias: cannot change');
    await expectRefused(
      store(),
      () =>
        tablets().updateFields(alias(1), (tablet) => {
          tablet.portMap.vt = 70000;
        }),
      TopoErrorCode.InvalidArgument,
    );
  });
});

describe('Tablets.delete', () => {
  it('removes the record and its node, and the graph with its last node', async () => {
    await tablets().create(newTablet(1));
    await tablets().create(newTablet(2));
    await tablets().delete(alias(1));
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000002']);
    await tablets().delete(alias(2));
    expect(await replicationNodes(store(), 'ks', '-80')).toBeUndefined();
    expect(await store().list('')).toEqual([]);
  });

  it('removes a registered tablet and its Alive key in one commit, and revokes its lease', async () => {
    const { leaseId } = await new TabletRegistry(store()).register(newTablet(1), { session: 'host1' });
    await tablets().delete(alias(1));
    expect(await store().list('')).toEqual([]);
    expect((await rejection(store().keepAliveLease(leaseId))).code).toBe(TopoErrorCode.NoNode);
  });

  it('refuses a missing tablet and a stale version', async () => {
    await expectRefused(store(), () => tablets().delete(alias(1)), TopoErrorCode.NoNode);
    const created = await tablets().create(newTablet(1));
    await tablets().updateFields(alias(1), (tablet) => {
      tablet.type = TabletType.RDONLY;
    });
    await expectRefused(store(), () => tablets().delete(alias(1), { version: created.version }), TopoErrorCode.BadVersion);
  });

  it('deletes nothing else: an unsorted graph written by another tool keeps its other nodes, sorted', async () => {
    await tablets().create(newTablet(5));
    const unsorted = ShardReplication.encode({
      nodes: [{ tabletAlias: alias(9) }, { tabletAlias: alias(5) }, { tabletAlias: alias(2) }, { tabletAlias: alias(9) }],
    }).finish();
    await store().update('keyspaces/ks/shards/-80/ShardReplication', unsorted, null);
    await tablets().delete(alias(5));
    expect(await replicationNodes(store(), 'ks', '-80')).toEqual(['zone1-0000000002', 'zone1-0000000009']);
  });
});
