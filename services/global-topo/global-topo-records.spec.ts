import { status } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { Keyspace, KeyspaceType, vschema as vschemapb } from '../../libs/proto';
import { LockKind } from '../../libs/proto/gen/topo/global/v1/global';
import { call, codeOf } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;

beforeEach(async () => {
  topo = await startGlobalTopo(etcd().endpoints);
});
afterEach(async () => {
  await topo.stop();
});

const c = () => topo.client;
const dump = async (): Promise<string[]> =>
  (await topo.store.list('')).map((kv) => `${kv.path}@${kv.version}:${Buffer.from(kv.contents).toString('hex')}`);

describe('global-topo keyspaces', () => {
  it('creates, gets, lists sorted, updates with compare-and-swap and deletes a keyspace', async () => {
    const created = await call(c().createKeyspace.bind(c()), {
      name: 'commerce',
      keyspace: Keyspace.fromPartial({ durabilityPolicy: 'semi_sync' }),
    });
    await call(c().createKeyspace.bind(c()), { name: 'alpha', keyspace: undefined });
    const got = await call(c().getKeyspace.bind(c()), { name: 'commerce' });
    expect(got.version).toBe(created.version);
    expect(got.keyspace?.durabilityPolicy).toBe('semi_sync');
    expect((await call(c().listKeyspaces.bind(c()), {})).names).toEqual(['alpha', 'commerce']);

    const updated = await call(c().updateKeyspace.bind(c()), {
      name: 'commerce',
      keyspace: Keyspace.fromPartial({ durabilityPolicy: 'none' }),
      version: got.version,
      fence: undefined,
    });
    expect(BigInt(updated.version) > BigInt(got.version)).toBe(true);
    const stale = call(c().updateKeyspace.bind(c()), {
      name: 'commerce',
      keyspace: Keyspace.fromPartial({ durabilityPolicy: 'stale' }),
      version: got.version,
      fence: undefined,
    });
    expect(await codeOf(stale)).toBe(status.FAILED_PRECONDITION);
    expect((await call(c().getKeyspace.bind(c()), { name: 'commerce' })).keyspace?.durabilityPolicy).toBe('none');

    await call(c().deleteKeyspace.bind(c()), { name: 'commerce', recursive: false });
    expect(await codeOf(call(c().getKeyspace.bind(c()), { name: 'commerce' }))).toBe(status.NOT_FOUND);
  });

  it('answers ALREADY_EXISTS and NOT_FOUND', async () => {
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
    expect(await codeOf(call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined }))).toBe(status.ALREADY_EXISTS);
    expect(await codeOf(call(c().getKeyspace.bind(c()), { name: 'nope' }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call(c().deleteKeyspace.bind(c()), { name: 'nope', recursive: false }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call(c().listShards.bind(c()), { keyspace: 'nope' }))).toBe(status.NOT_FOUND);
  });

  it('refuses to delete a keyspace with shards unless recursive', async () => {
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
    await call(c().createShard.bind(c()), { keyspace: 'ks', name: '-80' });
    const before = await dump();
    expect(await codeOf(call(c().deleteKeyspace.bind(c()), { name: 'ks', recursive: false }))).toBe(
      status.FAILED_PRECONDITION,
    );
    expect(await dump()).toEqual(before);
    await call(c().deleteKeyspace.bind(c()), { name: 'ks', recursive: true });
    expect(await dump()).toEqual([]);
  });
});

describe('global-topo shards', () => {
  beforeEach(async () => {
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
  });

  it('derives key ranges from names and serves only non-overlapping shards', async () => {
    const low = await call(c().createShard.bind(c()), { keyspace: 'ks', name: '-80' });
    expect(low.shard?.keyRange).toEqual({ start: Buffer.alloc(0), end: Buffer.from([0x80]) });
    expect(low.shard?.isPrimaryServing).toBe(true);
    const high = await call(c().createShard.bind(c()), { keyspace: 'ks', name: '80-' });
    expect(high.shard?.isPrimaryServing).toBe(true);
    const overlapping = await call(c().createShard.bind(c()), { keyspace: 'ks', name: '40-c0' });
    expect(overlapping.shard?.isPrimaryServing).toBe(false);
    expect((await call(c().listShards.bind(c()), { keyspace: 'ks' })).names).toEqual(['-80', '40-c0', '80-']);
  });

  it('sets the primary and its term start time, with version checks', async () => {
    const created = await call(c().createShard.bind(c()), { keyspace: 'ks', name: '0' });
    const updated = await call(c().updateShardFields.bind(c()), {
      keyspace: 'ks',
      name: '0',
      primaryAlias: { cell: 'zone1', uid: 100 },
      clearPrimaryAlias: false,
      primaryTermStartTime: { seconds: '1700000000', nanoseconds: 5 },
      isPrimaryServing: undefined,
      version: created.version,
      fence: undefined,
    });
    expect(updated.shard?.primaryAlias).toEqual({ cell: 'zone1', uid: 100 });
    expect(updated.shard?.primaryTermStartTime).toEqual({ seconds: '1700000000', nanoseconds: 5 });
    const stale = call(c().updateShardFields.bind(c()), {
      keyspace: 'ks',
      name: '0',
      primaryAlias: undefined,
      clearPrimaryAlias: true,
      primaryTermStartTime: undefined,
      isPrimaryServing: undefined,
      version: created.version,
      fence: undefined,
    });
    expect(await codeOf(stale)).toBe(status.FAILED_PRECONDITION);
    const got = await call(c().getShard.bind(c()), { keyspace: 'ks', name: '0' });
    expect(got.shard?.primaryAlias).toEqual({ cell: 'zone1', uid: 100 });
    await call(c().deleteShard.bind(c()), { keyspace: 'ks', name: '0' });
    expect(await codeOf(call(c().getShard.bind(c()), { keyspace: 'ks', name: '0' }))).toBe(status.NOT_FOUND);
  });
});

describe('global-topo cells, aliases, vschema and routing rules', () => {
  it('manages cell infos and cells aliases', async () => {
    await call(c().createCellInfo.bind(c()), { name: 'zone1', cellInfo: { serverAddress: '127.0.0.1:16000', root: '/topo/zone1' } });
    await call(c().createCellInfo.bind(c()), { name: 'zone2', cellInfo: { serverAddress: '127.0.0.1:16001', root: '/topo/zone2' } });
    expect((await call(c().listCellInfos.bind(c()), {})).names).toEqual(['zone1', 'zone2']);
    const got = await call(c().getCellInfo.bind(c()), { name: 'zone1' });
    expect(got.cellInfo).toEqual({ serverAddress: '127.0.0.1:16000', root: '/topo/zone1' });
    await call(c().updateCellInfo.bind(c()), {
      name: 'zone1',
      cellInfo: { serverAddress: '127.0.0.1:17000', root: '/topo/zone1' },
      version: got.version,
    });
    await call(c().createCellsAlias.bind(c()), { name: 'east', cellsAlias: { cells: ['zone1', 'zone2'] } });
    expect((await call(c().getCellsAlias.bind(c()), { name: 'east' })).cellsAlias?.cells).toEqual(['zone1', 'zone2']);
    expect(await codeOf(call(c().deleteCellInfo.bind(c()), { name: 'zone1', force: false }))).toBe(status.FAILED_PRECONDITION);
    await call(c().deleteCellsAlias.bind(c()), { name: 'east' });
    await call(c().deleteCellInfo.bind(c()), { name: 'zone1', force: false });
    expect((await call(c().listCellInfos.bind(c()), {})).names).toEqual(['zone2']);
  });

  it('returns vschema and routing rules byte for byte', async () => {
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
    // A binary vschema.Keyspace (sharded) with an unknown field 100 holding every byte value.
    const bytes = Buffer.from([0x08, 0x01, 0xa2, 0x06, 0x80, 0x02, ...Array.from({ length: 256 }, (_, i) => i)]);
    await call(c().saveVSchema.bind(c()), { keyspace: 'ks', vschema: bytes, version: '0' });
    expect((await call(c().getVSchema.bind(c()), { keyspace: 'ks' })).vschema).toEqual(bytes);
    const rules = Buffer.from(vschemapb.RoutingRules.encode({ rules: [{ fromTable: 't', toTables: ['ks.t'] }] }).finish());
    const saved = await call(c().saveRoutingRules.bind(c()), { routingRules: rules, version: '0' });
    const read = await call(c().getRoutingRules.bind(c()), {});
    expect(read.routingRules).toEqual(rules);
    expect(read.version).toBe(saved.version);
    expect(await codeOf(call(c().saveRoutingRules.bind(c()), { routingRules: rules, version: '1' }))).toBe(
      status.FAILED_PRECONDITION,
    );
  });

  it('refuses a JSON vschema or routing rules with INVALID_ARGUMENT, changing nothing', async () => {
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
    const json = Buffer.from('{"sharded":true}');
    expect(await codeOf(call(c().saveVSchema.bind(c()), { keyspace: 'ks', vschema: json, version: '0' }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(call(c().saveRoutingRules.bind(c()), { routingRules: json, version: '0' }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(call(c().getVSchema.bind(c()), { keyspace: 'ks' }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call(c().getRoutingRules.bind(c()), {}))).toBe(status.NOT_FOUND);
  });

  it('creates, locks and deletes a custom-named shard such as x1, as vtctld does', async () => {
    await call(c().createKeyspace.bind(c()), { name: 'customer', keyspace: undefined });
    const created = await call(c().createShard.bind(c()), { keyspace: 'customer', name: 'x1' });
    expect(created.shard?.isPrimaryServing).toBe(true);
    expect((await call(c().listShards.bind(c()), { keyspace: 'customer' })).names).toEqual(['x1']);
    const target = { kind: LockKind.LOCK_KIND_SHARD, keyspace: 'customer', shard: 'x1', name: '', path: '' };
    const lock = await call(c().acquireLock.bind(c()), { target, holder: 'op', action: 'test', tryOnly: true, ttl: { seconds: '5', nanos: 0 } });
    await call(c().releaseLock.bind(c()), { lockId: lock.grant!.lockId, fencingToken: lock.grant!.fencingToken });
    await call(c().deleteShard.bind(c()), { keyspace: 'customer', name: 'x1' });
    expect((await call(c().listShards.bind(c()), { keyspace: 'customer' })).names).toEqual([]);
  });
});

describe('global-topo bad input', () => {
  const long = 'k'.repeat(65);
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['keyspace name with ..', () => call(c().createKeyspace.bind(c()), { name: '..', keyspace: undefined })],
    ['keyspace name with /', () => call(c().createKeyspace.bind(c()), { name: 'a/b', keyspace: undefined })],
    ['keyspace name with NUL', () => call(c().createKeyspace.bind(c()), { name: 'a\u0000b', keyspace: undefined })],
    ['empty keyspace name', () => call(c().createKeyspace.bind(c()), { name: '', keyspace: undefined })],
    ['65-char keyspace name', () => call(c().createKeyspace.bind(c()), { name: long, keyspace: undefined })],
    [
      'unknown keyspace type',
      () => call(c().createKeyspace.bind(c()), { name: 'ok', keyspace: Keyspace.fromPartial({ keyspaceType: 42 as KeyspaceType }) }),
    ],
    ['shard range start >= end', () => call(c().createShard.bind(c()), { keyspace: 'base', name: '80-40' })],
    ['shard name not hex', () => call(c().createShard.bind(c()), { keyspace: 'base', name: 'x0-80' })],
    ['shard name with ..', () => call(c().createShard.bind(c()), { keyspace: 'base', name: '..' })],
    [
      'primary alias with a bad cell',
      () =>
        call(c().updateShardFields.bind(c()), {
          keyspace: 'base',
          name: '-80',
          primaryAlias: { cell: 'bad/cell', uid: 1 },
          clearPrimaryAlias: false,
          primaryTermStartTime: undefined,
          isPrimaryServing: undefined,
          version: '0',
          fence: undefined,
        }),
    ],
    [
      'negative version',
      () => call(c().updateKeyspace.bind(c()), { name: 'base', keyspace: undefined, version: '-1', fence: undefined }),
    ],
    [
      'fence with an empty lock id',
      () =>
        call(c().updateKeyspace.bind(c()), {
          name: 'base',
          keyspace: undefined,
          version: '0',
          fence: { lockId: '', fencingToken: '5' },
        }),
    ],
    ['cell name with /', () => call(c().createCellInfo.bind(c()), { name: 'zo/ne', cellInfo: { serverAddress: 'h:1', root: '/r' } })],
    [
      'oversize vschema',
      () => call(c().saveVSchema.bind(c()), { keyspace: 'base', vschema: Buffer.alloc(1024 * 1024 + 1), version: '0' }),
    ],
    [
      'unknown lock kind',
      () =>
        call(c().acquireLock.bind(c()), {
          target: { kind: 9 as LockKind, keyspace: 'base', shard: '', name: '', path: '' },
          holder: '',
          action: 'x',
          waitTimeout: undefined,
          tryOnly: false,
          ttl: { seconds: '10', nanos: 0 },
        }),
    ],
    [
      'lock without a ttl',
      () =>
        call(c().acquireLock.bind(c()), {
          target: { kind: 1, keyspace: 'base', shard: '', name: '', path: '' },
          holder: '',
          action: 'x',
          waitTimeout: undefined,
          tryOnly: false,
          ttl: undefined,
        }),
    ],
    ['path with ..', () => call(topo.path.create.bind(topo.path), { path: 'keyspaces/../x', contents: Buffer.from('x') })],
    ['path with NUL', () => call(topo.path.get.bind(topo.path), { path: 'a\u0000' })],
  ];

  it.each(cases)('refuses %s with INVALID_ARGUMENT and changes nothing', async (_what, request) => {
    await call(c().createKeyspace.bind(c()), { name: 'base', keyspace: undefined });
    await call(c().createShard.bind(c()), { keyspace: 'base', name: '-80' });
    const before = await dump();
    const err = await request().then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details.length).toBeGreaterThan(5);
    expect(await dump()).toEqual(before);
  });

  it('names the field at fault', async () => {
    const err = await call(c().createKeyspace.bind(c()), { name: 'a/b', keyspace: undefined }).catch((e: { details: string }) => e);
    expect((err as { details: string }).details).toMatch(/^keyspace.*'\/'/);
  });
});

describe('global-topo path API', () => {
  it('reads, writes and lists raw topology with topo.Conn semantics', async () => {
    const created = await call(topo.path.create.bind(topo.path), { path: 'a/b/file', contents: Buffer.from('one') });
    expect(await codeOf(call(topo.path.create.bind(topo.path), { path: 'a/b/file', contents: Buffer.from('x') }))).toBe(
      status.ALREADY_EXISTS,
    );
    const updated = await call(topo.path.update.bind(topo.path), {
      path: 'a/b/file',
      contents: Buffer.from('two'),
      version: created.version,
    });
    expect(
      await codeOf(call(topo.path.update.bind(topo.path), { path: 'a/b/file', contents: Buffer.from('x'), version: created.version })),
    ).toBe(status.FAILED_PRECONDITION);
    expect((await call(topo.path.get.bind(topo.path), { path: 'a/b/file' })).contents).toEqual(Buffer.from('two'));
    expect((await call(topo.path.getVersion.bind(topo.path), { path: 'a/b/file', version: created.version })).contents).toEqual(
      Buffer.from('one'),
    );
    expect((await call(topo.path.listDir.bind(topo.path), { path: 'a' })).entries).toEqual([
      { name: 'b', type: 2, ephemeral: false },
    ]);
    expect((await call(topo.path.list.bind(topo.path), { prefix: 'a/', pageSize: 0, pageToken: '' })).kvs.map((kv) => kv.path)).toEqual(['a/b/file']);
    expect(await codeOf(call(topo.path.delete.bind(topo.path), { path: 'a', version: '0' }))).toBe(status.FAILED_PRECONDITION);
    await call(topo.path.delete.bind(topo.path), { path: 'a/b/file', version: updated.version });
    expect(await codeOf(call(topo.path.listDir.bind(topo.path), { path: 'a' }))).toBe(status.NOT_FOUND);
  });

  it("tells a client the service's root and backend", async () => {
    expect(await call(topo.path.getRoot.bind(topo.path), {})).toEqual({ root: topo.store.root, backend: 'etcd' });
  });

  it('takes paths in every form Vitess passes, mapped as path.Join(root, p)', async () => {
    const p = topo.path;
    const created = await call(p.create.bind(p), { path: '/MyFile', contents: Buffer.from('a') });
    expect((await call(p.get.bind(p), { path: 'MyFile' })).version).toBe(created.version);
    await call(p.create.bind(p), { path: '/some/arbitrary/file', contents: Buffer.from('b') });
    expect((await call(p.listDir.bind(p), { path: '/' })).entries.map((e) => e.name)).toEqual(['MyFile', 'some']);
    expect((await call(p.listDir.bind(p), { path: '/some/' })).entries.map((e) => e.name)).toEqual(['arbitrary']);
    expect((await call(p.get.bind(p), { path: '/some/arbitrary/file/' })).contents).toEqual(Buffer.from('b'));
    await call(p.update.bind(p), { path: '/MyFile', contents: Buffer.from('c'), version: created.version });
    await call(p.delete.bind(p), { path: '/MyFile', version: '0' });
    expect(await codeOf(call(p.get.bind(p), { path: 'MyFile' }))).toBe(status.NOT_FOUND);
  });

  it('lists with the backend key of each file, as etcd2topo answers, and NOT_FOUND when nothing matches', async () => {
    const p = topo.path;
    await call(p.create.bind(p), { path: '/toplevel/nested/myfile', contents: Buffer.from('a') });
    for (const prefix of ['/', '/top', '/toplevel', '/toplevel/', '/toplevel/nes', '/toplevel/nested/myfile']) {
      const { kvs } = await call(p.list.bind(p), { prefix, pageSize: 0, pageToken: '' });
      expect(kvs.map((kv) => [kv.path, kv.key])).toEqual([['toplevel/nested/myfile', `${topo.store.root}/toplevel/nested/myfile`]]);
    }
    expect(await codeOf(call(p.list.bind(p), { prefix: '/nothing', pageSize: 0, pageToken: '' }))).toBe(status.NOT_FOUND);
  });

  it("takes a vschema, routing rules or SrvVSchema through the path API only as Vitess's binary message", async () => {
    const p = topo.path;
    await call(c().createKeyspace.bind(c()), { name: 'ks', keyspace: undefined });
    const json = Buffer.from('{"sharded":true}');
    for (const path of ['keyspaces/ks/VSchema', 'RoutingRules', 'SrvVSchema']) {
      expect(await codeOf(call(p.create.bind(p), { path, contents: json }))).toBe(status.INVALID_ARGUMENT);
    }
    expect(await codeOf(call(p.get.bind(p), { path: 'keyspaces/ks/VSchema' }))).toBe(status.NOT_FOUND);
    const sharded = Buffer.from(vschemapb.Keyspace.encode(vschemapb.Keyspace.fromPartial({ sharded: true })).finish());
    await call(p.create.bind(p), { path: '/keyspaces/ks/VSchema', contents: sharded });
    expect((await call(c().getVSchema.bind(c()), { keyspace: 'ks' })).vschema).toEqual(sharded);
  });

  it('pages a List with the backend key on every page, NOT_FOUND only when the first page is empty', async () => {
    const p = topo.path;
    for (const name of ['a', 'b', 'c']) await call(p.create.bind(p), { path: `/paged/${name}`, contents: Buffer.from(name) });
    const keys: string[] = [];
    let pageToken = '';
    do {
      const page = await call(p.list.bind(p), { prefix: '/paged/', pageSize: 1, pageToken });
      keys.push(...page.kvs.map((kv) => kv.key));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(keys).toEqual(['a', 'b', 'c'].map((name) => `${topo.store.root}/paged/${name}`));
  });

  it('names the topo error behind FAILED_PRECONDITION: BadVersion, NodeNotEmpty', async () => {
    const p = topo.path;
    const created = await call(p.create.bind(p), { path: 'dir/file', contents: Buffer.from('a') });
    await call(p.update.bind(p), { path: 'dir/file', contents: Buffer.from('b'), version: created.version });
    const stale = await call(p.update.bind(p), { path: 'dir/file', contents: Buffer.from('c'), version: created.version }).catch((e: { details: string }) => e);
    expect((stale as { details: string }).details).toMatch(/^BadVersion: /);
    const dir = await call(p.delete.bind(p), { path: 'dir', version: '0' }).catch((e: { details: string }) => e);
    expect((dir as { details: string }).details).toMatch(/^NodeNotEmpty: /);
  });

  it.each([
    ['a .. segment', '/a/../b'],
    ['a lone ..', '/..'],
    ['a . segment', '/./a'],
    ['an empty segment', '//a'],
    ['an inner empty segment', '/a//b'],
    ['a NUL', '/a\u0000b'],
    ['a newline', '/a\nb'],
  ])('refuses a Vitess-form path with %s on every call, changing nothing', async (_what, path) => {
    const p = topo.path;
    await call(p.create.bind(p), { path: 'keep', contents: Buffer.from('kept') });
    const before = await topo.store.list('');
    const calls = [
      call(p.create.bind(p), { path, contents: Buffer.from('x') }),
      call(p.update.bind(p), { path, contents: Buffer.from('x'), version: '0' }),
      call(p.get.bind(p), { path }),
      call(p.delete.bind(p), { path, version: '0' }),
      call(p.listDir.bind(p), { path }),
      call(p.list.bind(p), { prefix: path, pageSize: 0, pageToken: '' }),
    ];
    for (const pending of calls) expect(await codeOf(pending)).toBe(status.INVALID_ARGUMENT);
    expect(await topo.store.list('')).toEqual(before);
  });

  it('answers OUT_OF_RANGE for a version older than etcd history', async () => {
    const first = await call(topo.path.create.bind(topo.path), { path: 'f', contents: Buffer.from('one') });
    const second = await call(topo.path.update.bind(topo.path), { path: 'f', contents: Buffer.from('two'), version: '0' });
    const raw = new Etcd3({ hosts: etcd().endpoints });
    try {
      await raw.kv.compact({ revision: second.version, physical: true });
    } finally {
      raw.close();
    }
    expect(await codeOf(call(topo.path.getVersion.bind(topo.path), { path: 'f', version: first.version }))).toBe(status.OUT_OF_RANGE);
  });
});
