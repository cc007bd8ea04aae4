import { credentials, status } from '@grpc/grpc-js';
import { CellInfo, CellsAlias, Keyspace, Shard, ShardReplication, SrvKeyspace, Tablet, TabletType, vschema } from '../proto';
import { PathServiceClient } from '../proto/gen/topo/path/v1/path';
import { openStore, type Store } from '../store';
import { call, codeOf } from '../testing/grpc-call';
import { Logger } from './logger';
import { PATH_SERVICE_NAME, pathService } from './path-service';
import { serviceWatchHub } from './service-hub';
import { TopoServer } from './topo-server';

let store: Store;
let server: TopoServer;
let client: PathServiceClient;

beforeAll(async () => {
  store = openStore({ backend: 'memory', root: '/records' });
  server = await TopoServer.start({
    config: {
      listen: '127.0.0.1:0',
      backend: 'memory',
      etcdEndpoints: [],
      root: '/records',
      lockTtlSeconds: 30,
      requestTimeoutMs: 2000,
      shutdownGraceMs: 500,
      logLevel: 'error',
      extra: {},
    },
    store,
    log: new Logger({}, 'error'),
    services: (tracker) => [{ name: PATH_SERVICE_NAME, ...pathService(store, tracker, serviceWatchHub(store, tracker)) }],
  });
  client = new PathServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.shutdown();
});

const tablet = Tablet.fromPartial({ alias: { cell: 'zone1', uid: 100 }, hostname: 'h', keyspace: 'ks', shard: '-80', type: TabletType.REPLICA });

/** Every record path Vitess reads, with a valid record of its kind. */
const RECORDS: Array<[string, Uint8Array]> = [
  ['cells/zone1/CellInfo', CellInfo.encode({ serverAddress: '127.0.0.1:16000', root: '/topo/zone1' }).finish()],
  ['cells_aliases/east/CellsAlias', CellsAlias.encode({ cells: ['zone1'] }).finish()],
  ['keyspaces/ks/Keyspace', Keyspace.encode(Keyspace.fromPartial({})).finish()],
  ['keyspaces/ks/VSchema', Buffer.from(vschema.Keyspace.encode(vschema.Keyspace.fromPartial({ sharded: true })).finish())],
  ['keyspaces/ks/shards/-80/Shard', Shard.encode(Shard.fromPartial({ keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) } })).finish()],
  ['RoutingRules', Uint8Array.of(0x0a, 0x00)],
  ['tablets/zone1-0000000100/Tablet', Tablet.encode(tablet).finish()],
  ['keyspaces/ks/shards/-80/ShardReplication', ShardReplication.encode({ nodes: [{ tabletAlias: { cell: 'zone1', uid: 100 } }] }).finish()],
  ['keyspaces/ks/SrvKeyspace', SrvKeyspace.encode(SrvKeyspace.fromPartial({ partitions: [] })).finish()],
  ['SrvVSchema', Buffer.from(vschema.SrvVSchema.encode(vschema.SrvVSchema.fromPartial({})).finish())],
];

const GARBAGE = [Buffer.from('garbage'), Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x05, 0x01])];

describe('path API writes to record paths', () => {
  it.each(RECORDS.map(([path]) => path))('refuses garbage at %s with INVALID_ARGUMENT, changing nothing', async (path) => {
    const valid = RECORDS.find(([p]) => p === path)![1];
    const created = await call(client.create.bind(client), { path, contents: Buffer.from(valid) });
    const before = await store.list('');
    for (const contents of GARBAGE) {
      expect(await codeOf(call(client.update.bind(client), { path, contents, version: '0' }))).toBe(status.INVALID_ARGUMENT);
      expect(await codeOf(call(client.update.bind(client), { path, contents, version: created.version }))).toBe(status.INVALID_ARGUMENT);
    }
    expect(await store.list('')).toEqual(before);
    await call(client.delete.bind(client), { path, version: '0' });
    for (const contents of GARBAGE) {
      expect(await codeOf(call(client.create.bind(client), { path, contents }))).toBe(status.INVALID_ARGUMENT);
    }
    expect((await store.list('')).filter((kv) => kv.path !== path)).toEqual(before.filter((kv) => kv.path !== path));
    expect((await store.list('')).some((kv) => kv.path === path)).toBe(false);
  });

  it('refuses a valid record of the wrong kind or for another name, naming the field', async () => {
    const err = await call(client.create.bind(client), {
      path: 'tablets/zone1-0000000101/Tablet',
      contents: Buffer.from(Tablet.encode(tablet).finish()),
    }).catch((e: { code: number; details: string }) => e);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('not the alias of its path') });
    expect(
      await codeOf(call(client.create.bind(client), { path: '/cells/zone2/CellInfo', contents: Buffer.from(Tablet.encode(tablet).finish()) })),
    ).toBe(status.INVALID_ARGUMENT);
  });

  it('takes any bytes at paths that hold no record', async () => {
    await call(client.create.bind(client), { path: 'internal/notes/anything', contents: Buffer.from('garbage') });
    await call(client.create.bind(client), { path: 'keyspaces/ks/Other', contents: Buffer.from([0xff]) });
  });
});
