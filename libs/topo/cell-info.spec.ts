import { CellInfo } from '../proto';
import { TopoErrorCode } from '../store';
import { Cells } from './cell-info';
import { CellsAliases } from './cells-alias';
import { Locks } from './locks';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';

const store = useMemoryStore();
const cells = (): Cells => new Cells(store());
const aliases = (): CellsAliases => new CellsAliases(store());
const info = (root: string, serverAddress = 'localhost:2379'): CellInfo => ({ serverAddress, root });

describe('Cells', () => {
  it('registers a cell and reads it back at cells/<cell>/CellInfo', async () => {
    const version = await cells().create('zone1', info('/topo/zone1'));
    expect(await cells().get('zone1')).toEqual({ cellInfo: info('/topo/zone1'), version });
    const stored = await store().get('cells/zone1/CellInfo');
    expect(CellInfo.decode(stored.contents)).toEqual(info('/topo/zone1'));
  });

  it('lists cell names sorted, and nothing when none is registered', async () => {
    expect(await cells().list()).toEqual([]);
    await cells().create('zone2', info('/topo/zone2'));
    await cells().create('zone1', info('/topo/zone1'));
    expect(await cells().list()).toEqual(['zone1', 'zone2']);
  });

  it('refuses a cell that exists', async () => {
    await cells().create('zone1', info('/topo/zone1'));
    await expectRefused(store(), () => cells().create('zone1', info('/other')), TopoErrorCode.NodeExists);
  });

  it.each([
    ['an empty root', info(''), 'cell_info.root: is empty'],
    ['a relative root', info('topo/zone1'), `cell_info.root: "topo/zone1" must start with '/'`],
    ['a root with ..', info('/topo/../x'), 'cell_info.root: '],
    ['a control character in the address', info('/topo', 'host\n:2379'), 'cell_info.server_address: '],
  ])('refuses %s without writing', async (_, value, message) => {
    const err = await expectRefused(store(), () => cells().create('zone1', value), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(message);
  });

  it.each(['', 'zone/1', 'zone.1', '..', 'z'.repeat(65)])('refuses the cell name %j without writing', async (name) => {
    await expectRefused(store(), () => cells().create(name, info('/topo')), TopoErrorCode.InvalidArgument);
  });

  it('refuses a cell named like an existing cells alias', async () => {
    await cells().create('zone1', info('/topo/zone1'));
    await aliases().create('east', { cells: ['zone1'] });
    const err = await expectRefused(store(), () => cells().create('east', info('/topo/east')), TopoErrorCode.NodeExists);
    expect(err.message).toContain('already used by a cells alias');
  });

  it('updates with compare-and-swap, and refuses a missing cell instead of creating it', async () => {
    const first = await cells().create('zone1', info('/topo/zone1'));
    const second = await cells().update('zone1', info('/topo/zone1', 'etcd1:2379'), first);
    await expectRefused(store(), () => cells().update('zone1', info('/x'), first), TopoErrorCode.BadVersion);
    await expectRefused(store(), () => cells().update('zone9', info('/x'), second), TopoErrorCode.NoNode);
    const updated = await cells().updateFields('zone1', (cell) => void (cell.serverAddress = 'etcd2:2379'));
    expect(updated.cellInfo).toEqual(info('/topo/zone1', 'etcd2:2379'));
  });

  it('refuses a fenced update after the lock is lost', async () => {
    await cells().create('zone1', info('/topo/zone1'));
    const lock = await new Locks(store()).lockNamed('cells', 'test');
    await store().revokeLease(lock.leaseId);
    await expectRefused(
      store(),
      () => cells().updateFields('zone1', (cell) => void (cell.root = '/x'), { fence: lock.fence }),
      TopoErrorCode.LockLost,
    );
  });

  describe('delete', () => {
    it('deletes a cell no alias lists', async () => {
      await cells().create('zone1', info('/topo/zone1'));
      await cells().delete('zone1');
      expect(await cells().list()).toEqual([]);
      await expectRefused(store(), () => cells().delete('zone1'), TopoErrorCode.NoNode);
    });

    it('refuses while a cells alias lists the cell, unless forced', async () => {
      await cells().create('zone1', info('/topo/zone1'));
      await cells().create('zone2', info('/topo/zone2'));
      await aliases().create('east', { cells: ['zone1', 'zone2'] });
      const err = await expectRefused(store(), () => cells().delete('zone1'), TopoErrorCode.NodeNotEmpty);
      expect(err.message).toContain('cell "zone1" is still in cells alias "east"');

      await cells().delete('zone1', { force: true });
      expect(await cells().list()).toEqual(['zone2']);
      // The alias keeps the stale name, and that does not block unrelated changes to it.
      expect((await aliases().get('east')).cellsAlias.cells).toEqual(['zone1', 'zone2']);
      await cells().create('zone3', info('/topo/zone3'));
      const updated = await aliases().updateFields('east', (alias) => void alias.cells.push('zone3'));
      expect(updated.cellsAlias.cells).toEqual(['zone1', 'zone2', 'zone3']);
    });
  });
});
