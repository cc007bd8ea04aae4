import { ShardReplication } from '../proto';
import { TopoErrorCode } from '../store';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';
import { newTablet } from './private/tablet.fixture';
import {
  ShardReplications,
  normalizeShardReplication,
  replicationNodeNames,
  withReplicationNode,
  withoutReplicationNode,
} from './shard-replication';
import { Tablets } from './tablet';

const store = useMemoryStore();
const graphs = (): ShardReplications => new ShardReplications(store());
const node = (cell: string, uid: number) => ({ tabletAlias: { cell, uid } });

describe('replication graph nodes', () => {
  it('sorts by cell, then uid, and drops duplicates and nodes without an alias', () => {
    const normalized = normalizeShardReplication({
      nodes: [node('zone1', 10), node('zone1', 2), { tabletAlias: undefined }, node('a', 99), node('zone1', 2)],
    });
    expect(replicationNodeNames(normalized)).toEqual(['a-0000000099', 'zone1-0000000002', 'zone1-0000000010']);
  });

  it('adds a node once and removes it', () => {
    const one = withReplicationNode({ nodes: [] }, { cell: 'zone1', uid: 5 });
    const still = withReplicationNode(one, { cell: 'zone1', uid: 5 });
    expect(replicationNodeNames(still)).toEqual(['zone1-0000000005']);
    expect(withoutReplicationNode(still, { cell: 'zone1', uid: 5 }).nodes).toEqual([]);
  });
});

describe('ShardReplications', () => {
  it('reads a shard graph with its version, normalising one written unsorted by another tool', async () => {
    const version = await store().create(
      'keyspaces/ks/shards/80-/ShardReplication',
      ShardReplication.encode({ nodes: [node('zone1', 3), node('zone1', 1), node('zone1', 3)] }).finish(),
    );
    const record = await graphs().get('ks', '80-');
    expect(record.version).toBe(version);
    expect(replicationNodeNames(record.replication)).toEqual(['zone1-0000000001', 'zone1-0000000003']);
  });

  it('finds a graph by its uppercase shard name', async () => {
    await new Tablets(store()).create(newTablet(1, { shard: '80-C0' }));
    expect((await graphs().get('ks', '80-C0')).shard).toBe('80-c0');
  });

  it('is NoNode for a shard without tablets in the cell', async () => {
    const err = await expectRefused(store(), () => graphs().get('ks', '-80'), TopoErrorCode.NoNode);
    expect(err.message).toContain(`replication graph of shard "ks/-80" doesn't exist`);
  });

  it('lists the graphs of a keyspace in shard order', async () => {
    const tablets = new Tablets(store());
    await tablets.create(newTablet(1, { shard: '80-' }));
    await tablets.create(newTablet(2, { shard: '-80' }));
    await tablets.create(newTablet(3, { shard: '-80' }));
    await tablets.create(newTablet(4, { keyspace: 'other', shard: '0' }));
    const listed = (await graphs().list('ks')).map((r) => [r.shard, replicationNodeNames(r.replication)]);
    expect(listed).toEqual([
      ['-80', ['zone1-0000000002', 'zone1-0000000003']],
      ['80-', ['zone1-0000000001']],
    ]);
    expect(await graphs().list('none')).toEqual([]);
  });
});
