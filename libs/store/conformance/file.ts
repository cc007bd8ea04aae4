import { TopoErrorCode } from '../errors';
import { type ConformanceHarness, codeOf, str, text, useStore } from './harness';

/** Vitess checkFile: create, get, compare-and-swap update and delete, versions and history. */
export function fileChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it('returns from get the version that create returned', async () => {
    const { store } = ctx();
    const version = await store.create('keyspaces/ks1/Keyspace', text('v1'));
    const got = await store.get('keyspaces/ks1/Keyspace');
    expect(str(got.contents)).toBe('v1');
    expect(got.version).toBe(version);
  });

  it('refuses to create an existing file with NodeExists and keeps its value', async () => {
    const { store } = ctx();
    const version = await store.create('a/file', text('first'));
    expect(await codeOf(store.create('a/file', text('second')))).toBe(TopoErrorCode.NodeExists);
    expect(await store.get('a/file')).toEqual({ contents: text('first'), version });
  });

  it('gets NoNode for a missing file', async () => {
    const { store } = ctx();
    expect(await codeOf(store.get('missing/file'))).toBe(TopoErrorCode.NoNode);
  });

  it('updates with the current version and returns a newer version', async () => {
    const { store } = ctx();
    const v1 = await store.create('a/file', text('one'));
    const v2 = await store.update('a/file', text('two'), v1);
    expect(v2 > v1).toBe(true);
    expect(await store.get('a/file')).toEqual({ contents: text('two'), version: v2 });
  });

  it('refuses an update with a stale version with BadVersion and keeps the newer value', async () => {
    const { store } = ctx();
    const v1 = await store.create('a/file', text('one'));
    const v2 = await store.update('a/file', text('two'), v1);
    expect(await codeOf(store.update('a/file', text('stale'), v1))).toBe(TopoErrorCode.BadVersion);
    expect(await store.get('a/file')).toEqual({ contents: text('two'), version: v2 });
  });

  it('refuses a versioned update of a missing file with NoNode and creates nothing', async () => {
    const { store } = ctx();
    expect(await codeOf(store.update('a/file', text('x'), 5n))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(store.get('a/file'))).toBe(TopoErrorCode.NoNode);
  });

  it('upserts when no version is given', async () => {
    const { store } = ctx();
    const v1 = await store.update('a/file', text('created'), null);
    const v2 = await store.update('a/file', text('replaced'), null);
    expect(v2 > v1).toBe(true);
    expect(str((await store.get('a/file')).contents)).toBe('replaced');
  });

  it('deletes with the current version, and refuses a stale one with BadVersion', async () => {
    const { store } = ctx();
    const v1 = await store.create('a/file', text('one'));
    const v2 = await store.update('a/file', text('two'), v1);
    expect(await codeOf(store.delete('a/file', v1))).toBe(TopoErrorCode.BadVersion);
    expect(str((await store.get('a/file')).contents)).toBe('two');
    await store.delete('a/file', v2);
    expect(await codeOf(store.get('a/file'))).toBe(TopoErrorCode.NoNode);
  });

  it('refuses to delete a missing file with NoNode and a directory with NodeNotEmpty', async () => {
    const { store } = ctx();
    expect(await codeOf(store.delete('a/file', null))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(store.delete('a/file', 3n))).toBe(TopoErrorCode.NoNode);
    await store.create('keyspaces/ks1/Keyspace', text('k'));
    expect(await codeOf(store.delete('keyspaces/ks1', null))).toBe(TopoErrorCode.NodeNotEmpty);
    expect(str((await store.get('keyspaces/ks1/Keyspace')).contents)).toBe('k');
  });

  it('reads earlier versions of a file from history', async () => {
    const { store } = ctx();
    const v1 = await store.create('a/file', text('one'));
    const v2 = await store.update('a/file', text('two'), v1);
    await store.update('a/file', text('three'), v2);
    expect(str(await store.getVersion('a/file', v1))).toBe('one');
    expect(str(await store.getVersion('a/file', v2))).toBe('two');
    expect(await codeOf(store.getVersion('a/file', v1 - 1n))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(store.getVersion('a/file', 0n))).toBe(TopoErrorCode.InvalidArgument);
  });

  it('lists by prefix, and a prefix ending in / never matches a longer name', async () => {
    const { store } = ctx();
    await store.create('keyspaces/ks1/Keyspace', text('1'));
    await store.create('keyspaces/ks1/shards/0/Shard', text('1s'));
    await store.create('keyspaces/ks10/Keyspace', text('10'));
    await store.create('keyspaces/ks2/Keyspace', text('2'));
    const dir = await store.list('keyspaces/ks1/');
    expect(dir.map((kv) => kv.path)).toEqual(['keyspaces/ks1/Keyspace', 'keyspaces/ks1/shards/0/Shard']);
    expect(dir[0].contents).toEqual(text('1'));
    expect((await store.list('keyspaces/ks1')).map((kv) => kv.path)).toEqual([
      'keyspaces/ks1/Keyspace',
      'keyspaces/ks1/shards/0/Shard',
      'keyspaces/ks10/Keyspace',
    ]);
    expect(await store.list('keyspaces/ks3/')).toEqual([]);
    expect((await store.list('')).length).toBe(4);
  });

  it('keeps stores with different roots apart', async () => {
    const { store } = ctx();
    const { store: other } = await harness.newStore();
    try {
      await store.create('a/file', text('mine'));
      expect(await codeOf(other.get('a/file'))).toBe(TopoErrorCode.NoNode);
      expect(await other.list('')).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('commits several writes in one transaction, all or none', async () => {
    const { store } = ctx();
    const tablet = await store.create('tablets/zone1-0000000100/Tablet', text('t'));
    const revision = await store.commit({
      expect: [
        { path: 'tablets/zone1-0000000100/Tablet', version: tablet },
        { path: 'keyspaces/ks/shards/0/ShardReplication', version: 0n },
      ],
      ops: [
        { type: 'put', path: 'keyspaces/ks/shards/0/ShardReplication', contents: text('r') },
        { type: 'delete', path: 'tablets/zone1-0000000100/Tablet' },
        { type: 'put', path: 'tablets/zone1-0000000101/Tablet', contents: text('u') },
      ],
    });
    expect((await store.get('keyspaces/ks/shards/0/ShardReplication')).version).toBe(revision);
    expect((await store.get('tablets/zone1-0000000101/Tablet')).version).toBe(revision);
    expect(await codeOf(store.get('tablets/zone1-0000000100/Tablet'))).toBe(TopoErrorCode.NoNode);
    const before = await store.list('');
    const stale = store.commit({
      expect: [{ path: 'keyspaces/ks/shards/0/ShardReplication', version: revision - 1n }],
      ops: [
        { type: 'put', path: 'keyspaces/ks/shards/0/ShardReplication', contents: text('stale') },
        { type: 'put', path: 'tablets/zone1-0000000102/Tablet', contents: text('v') },
      ],
    });
    expect(await codeOf(stale)).toBe(TopoErrorCode.BadVersion);
    expect(await codeOf(store.commit({ expect: [], ops: [{ type: 'put', path: 'a/../b', contents: text('x') }] }))).toBe(
      TopoErrorCode.InvalidArgument,
    );
    expect(await store.list('')).toEqual(before);
  });
}
