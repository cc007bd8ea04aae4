import { TopoErrorCode } from '../errors';
import { type ConformanceHarness, codeOf, text, useStore } from './harness';

/** Vitess checkDirectory: listings are sorted, typed, flag ephemeral entries, and empty directories vanish. */
export function directoryChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it('lists nothing in an empty store: the root is NoNode', async () => {
    const { store } = ctx();
    expect(await codeOf(store.listDir(''))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(store.listDir('keyspaces'))).toBe(TopoErrorCode.NoNode);
  });

  it('lists keyspace-like directories sorted by name with file and directory types', async () => {
    const { store } = ctx();
    await store.create('keyspaces/ks2/Keyspace', text('b'));
    await store.create('keyspaces/ks1/Keyspace', text('a'));
    await store.create('keyspaces/ks1/shards/-80/Shard', text('s'));
    await store.create('keyspaces/ks1-x', text('f'));
    await store.create('RoutingRules', text('r'));

    expect(await store.listDir('')).toEqual([
      { name: 'RoutingRules', type: 'file', ephemeral: false },
      { name: 'keyspaces', type: 'directory', ephemeral: false },
    ]);
    expect(await store.listDir('/')).toEqual(await store.listDir(''));
    expect(await store.listDir('keyspaces')).toEqual([
      { name: 'ks1', type: 'directory', ephemeral: false },
      { name: 'ks1-x', type: 'file', ephemeral: false },
      { name: 'ks2', type: 'directory', ephemeral: false },
    ]);
    expect(await store.listDir('keyspaces/ks1/')).toEqual([
      { name: 'Keyspace', type: 'file', ephemeral: false },
      { name: 'shards', type: 'directory', ephemeral: false },
    ]);
  });

  it('drops a directory from its parent listing when its last file is deleted', async () => {
    const { store } = ctx();
    await store.create('keyspaces/ks1/Keyspace', text('a'));
    await store.create('keyspaces/ks2/Keyspace', text('b'));
    await store.delete('keyspaces/ks1/Keyspace', null);
    expect((await store.listDir('keyspaces')).map((e) => e.name)).toEqual(['ks2']);
    expect(await codeOf(store.listDir('keyspaces/ks1'))).toBe(TopoErrorCode.NoNode);
    await store.delete('keyspaces/ks2/Keyspace', null);
    expect(await codeOf(store.listDir('keyspaces'))).toBe(TopoErrorCode.NoNode);
  });

  it('flags lease-bound entries as ephemeral and drops them when the lease ends', async () => {
    const { store } = ctx();
    const lease = await store.grantLease(30);
    await store.create('tablets/zone1-0000000100/Tablet', text('t'), { lease: lease.id });
    await store.create('tablets/zone1-0000000101/Tablet', text('t'));
    await store.create('tablets/zone1-0000000102', text('leased file'), { lease: lease.id });
    expect(await store.listDir('tablets')).toEqual([
      { name: 'zone1-0000000100', type: 'directory', ephemeral: true },
      { name: 'zone1-0000000101', type: 'directory', ephemeral: false },
      { name: 'zone1-0000000102', type: 'file', ephemeral: true },
    ]);
    await store.revokeLease(lease.id);
    expect(await store.listDir('tablets')).toEqual([{ name: 'zone1-0000000101', type: 'directory', ephemeral: false }]);
  });
}
