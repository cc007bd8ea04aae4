import { GlobalTopology } from './global-topology';
import { useMemoryStore } from './private/memory-store.fixture';

const store = useMemoryStore();

describe('GlobalTopology', () => {
  it('wires every record type to one store', async () => {
    const topo = new GlobalTopology(store());
    await topo.cells.create('zone1', { serverAddress: 'localhost:2379', root: '/topo/zone1' });
    await topo.cellsAliases.create('all', { cells: ['zone1'] });
    await topo.keyspaces.create('ks');
    await topo.shards.create('ks', '0');
    await topo.vschemas.save('ks', Uint8Array.of(0x08, 1));
    await topo.routingRules.save(Uint8Array.of(0x0a, 0));
    expect((await store().list('')).map((kv) => kv.path)).toEqual([
      'RoutingRules',
      'cells/zone1/CellInfo',
      'cells_aliases/all/CellsAlias',
      'keyspaces/ks/Keyspace',
      'keyspaces/ks/VSchema',
      'keyspaces/ks/shards/0/Shard',
    ]);
    expect(await topo.locks.keyspaceLocks('ks')).toEqual([]);
  });
});
