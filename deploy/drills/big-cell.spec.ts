import { status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../etcd/jest';
import { MAX_PAGE_SIZE } from '../../libs/server/paging';
import { call, codeOf } from '../../libs/testing/grpc-call';
import { tabletPath } from '../../libs/topo';
import { Tablet } from '../../libs/proto';
import { EtcdEngine } from '../../libs/store/etcd';
import { startCellTopo, type CellTopoFixture } from '../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo, type GlobalTopoFixture } from '../../services/global-topo/global-topo.fixture';
import { SHARDS, bigTablet, fillCell, listAllPaths, listAllTablets } from './big-cell';

const TABLETS = 3200;
const MiB = 1024 * 1024;
const globalEtcd = useEtcdCluster();
const cellEtcd = useEtcdCluster();
let global: GlobalTopoFixture;
let cell: CellTopoFixture;

beforeAll(async () => {
  global = await startGlobalTopo(globalEtcd().endpoints);
  const root = `/drill/${process.pid}/zone1`;
  cell = await startCellTopo({ endpoints: cellEtcd().endpoints, root, cell: 'zone1', globalAddress: global.address });
  // ~4.5 MB under tablets/: more than the etcd client's old 4 MiB answer.
  expect(await fillCell(cell.store, 'zone1', TABLETS, 1400)).toBeGreaterThan(4 * MiB);
}, 120_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

describe('drill: a big cell, listed page by page', () => {
  it('lists every tablet once, in alias order, in pages under 1 MiB read at one revision', async () => {
    const listed = await listAllTablets(cell.client);
    expect(listed.items).toBe(TABLETS);
    expect(listed.aliases).toEqual(Array.from({ length: TABLETS }, (_, i) => i + 1));
    expect(listed.maxMessageBytes).toBeLessThan(MiB);
    expect(listed.pages).toBeGreaterThan(Math.ceil((TABLETS * 1400) / MiB));
    expect(listed.revisions.size).toBe(1);
  });

  it('lists one shard of the big cell, and honours a small page size', async () => {
    const oneShard = await listAllTablets(cell.client, { keyspace: 'commerce', shard: SHARDS[1], pageSize: 97 });
    expect(oneShard.items).toBe(TABLETS / SHARDS.length);
    expect(oneShard.pages).toBe(Math.ceil(TABLETS / SHARDS.length / 97));
  });

  it('caps the page size at the server maximum', async () => {
    const c = cell.client;
    const page = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 1_000_000, pageToken: '' });
    expect(page.tablets.length).toBeLessThanOrEqual(MAX_PAGE_SIZE);
    expect(page.nextPageToken).not.toBe('');
  });

  it('keeps later pages at the first page revision: writes in between are not mixed in', async () => {
    const c = cell.client;
    const first = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 10, pageToken: '' });
    const changed = bigTablet('zone1', 15, 1400);
    changed.hostname = 'moved.example';
    await cell.store.update(tabletPath(changed.alias!), Tablet.encode(changed).finish(), null);
    const second = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 10, pageToken: first.nextPageToken });
    expect(second.tablets.map((t) => t.tablet!.alias!.uid)).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    expect(second.tablets.find((t) => t.tablet!.alias!.uid === 15)!.tablet!.hostname).not.toBe('moved.example');
    expect(second.revision).toBe(first.revision);
  });

  it('refuses a token from another listing, and one whose revision was compacted, so the client lists again', async () => {
    const c = cell.client;
    const first = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 10, pageToken: '' });
    expect(
      await codeOf(call(c.listTablets.bind(c), { keyspace: 'commerce', shard: '', tabletTypes: [], pageSize: 10, pageToken: first.nextPageToken })),
    ).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(call(cell.path.list.bind(cell.path), { prefix: 'tablets/', pageSize: 0, pageToken: 'garbage' }))).toBe(
      status.INVALID_ARGUMENT,
    );
    const latest = await cell.store.update('drill/compaction-marker', Buffer.from('x'), null);
    const engine = new EtcdEngine({ endpoints: cellEtcd().endpoints });
    await engine.compact(latest).finally(() => engine.close());
    expect(await codeOf(call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 10, pageToken: first.nextPageToken }))).toBe(
      status.OUT_OF_RANGE,
    );
  });

  it('lists the whole tablets/ prefix through the path API in pages under 1 MiB', async () => {
    const listed = await listAllPaths(cell.path, 'tablets/');
    expect(listed.items).toBe(TABLETS);
    expect(new Set(listed.paths).size).toBe(TABLETS);
    expect(listed.maxMessageBytes).toBeLessThan(MiB);
    expect(listed.revisions.size).toBe(1);
  });
});
