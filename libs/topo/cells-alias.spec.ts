import { CellsAlias } from '../proto';
import { TopoErrorCode } from '../store';
import { Cells } from './cell-info';
import { CellsAliases } from './cells-alias';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';

const store = useMemoryStore();
const aliases = (): CellsAliases => new CellsAliases(store());

beforeEach(async () => {
  const cells = new Cells(store());
  for (const cell of ['zone1', 'zone2', 'zone3']) await cells.create(cell, { serverAddress: '', root: `/topo/${cell}` });
});

describe('CellsAliases', () => {
  it('creates an alias and reads it back at cells_aliases/<alias>/CellsAlias', async () => {
    const version = await aliases().create('east', { cells: ['zone1', 'zone2'] });
    expect(await aliases().get('east')).toEqual({ name: 'east', cellsAlias: { cells: ['zone1', 'zone2'] }, version });
    const stored = await store().get('cells_aliases/east/CellsAlias');
    expect(CellsAlias.decode(stored.contents).cells).toEqual(['zone1', 'zone2']);
  });

  it('lists alias names sorted', async () => {
    await aliases().create('west', { cells: ['zone3'] });
    await aliases().create('east', { cells: ['zone1'] });
    expect(await aliases().list()).toEqual(['east', 'west']);
    expect(await aliases().aliasesOf('zone3')).toEqual(['west']);
  });

  it('refuses a cell that is already in another alias', async () => {
    await aliases().create('east', { cells: ['zone1', 'zone2'] });
    const err = await expectRefused(store(), () => aliases().create('west', { cells: ['zone3', 'zone2'] }), TopoErrorCode.NodeExists);
    expect(err.message).toContain('cell "zone2" is already in cells alias "east"');
  });

  it('refuses an alias named like a cell', async () => {
    const err = await expectRefused(store(), () => aliases().create('zone1', { cells: ['zone2'] }), TopoErrorCode.NodeExists);
    expect(err.message).toContain('the name is already used by a cell');
  });

  it('refuses a cell that is not registered', async () => {
    const err = await expectRefused(store(), () => aliases().create('east', { cells: ['zone9'] }), TopoErrorCode.NoNode);
    expect(err.message).toContain(`cell "zone9" doesn't exist`);
  });

  it.each([
    ['no cells', [], 'cells_alias.cells: is empty'],
    ['a cell listed twice', ['zone1', 'zone1'], 'cells_alias.cells[1]: "zone1" is listed twice'],
    ['a bad cell name', ['zone/1'], `cells_alias.cells[0]: "zone/1" has '/'`],
  ])('refuses %s without writing', async (_, cells, message) => {
    const err = await expectRefused(store(), () => aliases().create('east', { cells }), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(message);
  });

  it.each(['', 'a/b', '..', 'e'.repeat(65)])('refuses the alias name %j without writing', async (name) => {
    await expectRefused(store(), () => aliases().create(name, { cells: ['zone1'] }), TopoErrorCode.InvalidArgument);
  });

  it('lets an alias overlap with itself on update, but not take a cell from another alias', async () => {
    const east = await aliases().create('east', { cells: ['zone1'] });
    await aliases().create('west', { cells: ['zone3'] });
    const updated = await aliases().update('east', { cells: ['zone1', 'zone2'] }, east);
    await expectRefused(
      store(),
      () => aliases().updateFields('east', (alias) => void alias.cells.push('zone3')),
      TopoErrorCode.NodeExists,
    );
    await expectRefused(store(), () => aliases().update('east', { cells: ['zone1'] }, east), TopoErrorCode.BadVersion);
    expect((await aliases().get('east')).version).toBe(updated);
  });

  it('deletes an alias, freeing its cells for another', async () => {
    await aliases().create('east', { cells: ['zone1'] });
    await aliases().delete('east');
    await aliases().create('west', { cells: ['zone1'] });
    await expectRefused(store(), () => aliases().delete('east'), TopoErrorCode.NoNode);
  });
});
