import { SrvKeyspace, TabletType } from '../proto';
import { TopoErrorCode } from '../store';
import { expectRefused, rejection, useMemoryStore } from './private/memory-store.fixture';
import { newTablet } from './private/tablet.fixture';
import { SrvKeyspaces, SrvVSchemas } from './serving-graph';
import { Tablets } from './tablet';

const store = useMemoryStore();
const srvKeyspaces = (): SrvKeyspaces => new SrvKeyspaces(store());
const srvVSchemas = (): SrvVSchemas => new SrvVSchemas(store());

const serving = (...types: TabletType[]): SrvKeyspace => ({
  partitions: types.map((servedType) => ({
    servedType,
    shardReferences: [{ name: '0', keyRange: undefined }],
    shardTabletControls: [],
  })),
  throttlerConfig: undefined,
});

describe('SrvKeyspaces', () => {
  it('returns what was saved with the version the save returned', async () => {
    const value = serving(TabletType.PRIMARY, TabletType.REPLICA);
    const version = await srvKeyspaces().save('ks', value);
    expect(await srvKeyspaces().get('ks')).toEqual({ srvKeyspace: value, version });
    expect((await store().get('keyspaces/ks/SrvKeyspace')).version).toBe(version);
  });

  it('saves as an upsert, or compare-and-swap with a version', async () => {
    const first = await srvKeyspaces().save('ks', serving(TabletType.PRIMARY));
    const second = await srvKeyspaces().save('ks', serving(TabletType.REPLICA));
    await expectRefused(store(), () => srvKeyspaces().save('ks', serving(TabletType.RDONLY), { version: first }), TopoErrorCode.BadVersion);
    expect(await srvKeyspaces().save('ks', serving(TabletType.RDONLY), { version: second })).toBeGreaterThan(second);
  });

  it('lists only keyspaces with a serving graph, sorted', async () => {
    await new Tablets(store()).create(newTablet(1, { keyspace: 'only_tablets' }));
    await srvKeyspaces().save('zeta', serving(TabletType.PRIMARY));
    await srvKeyspaces().save('alpha', serving(TabletType.PRIMARY));
    expect(await srvKeyspaces().list()).toEqual(['alpha', 'zeta']);
    await srvKeyspaces().delete('zeta');
    expect(await srvKeyspaces().list()).toEqual(['alpha']);
  });

  it('is NoNode for a keyspace without a serving graph', async () => {
    const err = await rejection(srvKeyspaces().get('ks'));
    expect(err.code).toBe(TopoErrorCode.NoNode);
    expect(err.message).toContain(`serving keyspace "ks" doesn't exist`);
    await expectRefused(store(), () => srvKeyspaces().delete('ks'), TopoErrorCode.NoNode);
  });

  it.each([
    [
      'a second partition for one type',
      serving(TabletType.REPLICA, TabletType.REPLICA),
      'srv_keyspace.partitions[1].served_type: 2 has a second partition',
    ],
    ['an unknown served type', serving(42 as TabletType), 'srv_keyspace.partitions[0].served_type: 42 is not a tablet type'],
    [
      'a bad shard name',
      { partitions: [{ servedType: TabletType.PRIMARY, shardReferences: [{ name: 'a/b', keyRange: undefined }], shardTabletControls: [] }] },
      'srv_keyspace.partitions[0].shard_references[0].name:',
    ],
  ])('refuses %s and leaves the store as it was', async (_, value, message) => {
    await srvKeyspaces().save('ks', serving(TabletType.PRIMARY));
    const err = await expectRefused(store(), () => srvKeyspaces().save('ks', value), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(message);
  });

  it('refuses a bad keyspace name', async () => {
    await expectRefused(store(), () => srvKeyspaces().save('..', serving(TabletType.PRIMARY)), TopoErrorCode.InvalidArgument);
  });
});

describe('SrvVSchemas', () => {
  it('refuses a SrvVSchema that is not a binary vschema.SrvVSchema (JSON, as earlier releases wrote) and writes nothing', async () => {
    const err = await expectRefused(store(), () => srvVSchemas().save(Buffer.from('{"keyspaces":{}}')), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('srv_vschema: is not a binary vschema.SrvVSchema protobuf');
  });

  it('returns the bytes as saved, with the version the save returned', async () => {
    // A binary vschema.SrvVSchema with one keyspace entry ("k" -> sharded) and an unknown field 9.
    const bytes = Uint8Array.of(0x0a, 0x07, 0x0a, 0x01, 0x6b, 0x12, 0x02, 0x08, 0x01, 0x48, 0xff, 0x01);
    const version = await srvVSchemas().save(bytes);
    const read = await srvVSchemas().get();
    expect(read.version).toBe(version);
    expect(Buffer.from(read.srvVSchema).equals(Buffer.from(bytes))).toBe(true);
    expect((await store().get('SrvVSchema')).version).toBe(version);
  });

  it('saves with compare-and-swap when a version is given, and deletes', async () => {
    const first = await srvVSchemas().save(Uint8Array.of(0x12, 0));
    await srvVSchemas().save(Uint8Array.of(0x1a, 0));
    await expectRefused(store(), () => srvVSchemas().save(Uint8Array.of(0x22, 0), { version: first }), TopoErrorCode.BadVersion);
    await srvVSchemas().delete();
    const err = await rejection(srvVSchemas().get());
    expect(err.code).toBe(TopoErrorCode.NoNode);
    expect(err.message).toContain(`SrvVSchema doesn't exist`);
  });
});
