import { Tablet, TabletType } from '../proto';
import { openStore } from '../store';
import { CellTopology } from './cell-topology';
import { GlobalTopology } from './global-topology';

const garbage = Buffer.from('garbage');

describe('typed lists meeting a record that does not decode', () => {
  it('list the other tablets and name the skipped record', async () => {
    const store = openStore({ backend: 'memory', root: '/undecodable' });
    const cell = new CellTopology(store, { cell: 'zone1' });
    await cell.tablets.create(Tablet.fromPartial({ alias: { cell: 'zone1', uid: 1 }, hostname: 'h', keyspace: 'ks', shard: '0', type: TabletType.REPLICA }));
    // As another tool, or a write from before path writes were checked, would leave it.
    await store.create('tablets/zone1-0000000002/Tablet', garbage);
    const skipped: string[] = [];
    const listed = await cell.tablets.list({}, skipped);
    expect(listed.map((r) => r.tablet.alias?.uid)).toEqual([1]);
    expect(skipped).toEqual(['tablets/zone1-0000000002/Tablet']);
    await expect(cell.tablets.list()).resolves.toHaveLength(1);
    await store.close();
  });

  it('list the other shards and cells aliases and name the skipped records', async () => {
    const store = openStore({ backend: 'memory', root: '/undecodable-global' });
    const global = new GlobalTopology(store);
    await global.keyspaces.create('ks');
    await global.shards.create('ks', '-80');
    await store.create('keyspaces/ks/shards/80-/Shard', garbage);
    await store.create('cells_aliases/east/CellsAlias', garbage);
    const skipped: string[] = [];
    expect(await global.shards.list('ks', skipped)).toEqual(['-80']);
    expect(await global.cellsAliases.list(skipped)).toEqual([]);
    expect(skipped).toEqual(['keyspaces/ks/shards/80-/Shard', 'cells_aliases/east/CellsAlias']);
    await store.close();
  });
});
