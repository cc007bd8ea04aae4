/**
 * A big cell: tablets of realistic size (port maps, tags: ~1.4 KB records) written straight
 * into the cell's store, then listed through ListTablets and the path API's List page by
 * page, timing each listing and recording the largest response. With the whole prefix in
 * one answer, a cell of this size failed as soon as `tablets/` passed the client's 4 MiB
 * receive limit (3,945 such tablets).
 */
import { Metadata } from '@grpc/grpc-js';
import {
  ListTabletsResponse,
  WatchMessageKind,
  WatchTabletsResponse,
  type CellTopoServiceClient,
} from '../../libs/proto/gen/topo/cell/v1/cell';
import { ListResponse, type PathServiceClient } from '../../libs/proto/gen/topo/path/v1/path';
import { Tablet, TabletType } from '../../libs/proto';
import type { CommitOp, Store } from '../../libs/store';
import { call } from '../../libs/testing/grpc-call';
import { tabletAlivePath, tabletPath } from '../../libs/topo';
import { startCellTopo } from '../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { EtcdCluster } from '../etcd';

export const SHARDS = ['-40', '40-80', '80-c0', 'c0-'];

/** A tablet record of about `bytes` bytes, as a production tablet with its tags would be. */
export function bigTablet(cell: string, uid: number, bytes: number): Tablet {
  const tablet = Tablet.fromPartial({
    alias: { cell, uid },
    hostname: `vttablet-${uid}.vttablet.commerce.svc.cluster.local`,
    keyspace: 'commerce',
    shard: SHARDS[uid % SHARDS.length],
    type: uid % 3 === 0 ? TabletType.PRIMARY : TabletType.REPLICA,
    portMap: { vt: 15000 + (uid % 1000), grpc: 16000 + (uid % 1000), mysql: 3306 },
    mysqlHostname: `mysql-${uid}.commerce.svc.cluster.local`,
    mysqlPort: 3306,
    tags: { region: 'us-east-1', zone: `${cell}-a`, pool: 'oltp' },
  });
  const size = Tablet.encode(tablet).finish().byteLength;
  if (size < bytes) tablet.tags.annotations = 'x'.repeat(bytes - size - 16);
  return tablet;
}

/** Writes `count` tablets (half of them with an Alive key) in transactions of 100 ops. */
export async function fillCell(store: Store, cell: string, count: number, bytes: number): Promise<number> {
  let recordBytes = 0;
  let ops: CommitOp[] = [];
  for (let uid = 1; uid <= count; uid++) {
    const tablet = bigTablet(cell, uid, bytes);
    const contents = Tablet.encode(tablet).finish();
    recordBytes += contents.byteLength;
    ops.push({ type: 'put', path: tabletPath(tablet.alias!), contents });
    if (uid % 2 === 0) ops.push({ type: 'put', path: tabletAlivePath(tablet.alias!), contents: Buffer.from('{}') });
    if (ops.length >= 100 || uid === count) {
      await store.commit({ expect: [], ops });
      ops = [];
    }
  }
  return recordBytes;
}

export interface ListFigures {
  items: number;
  pages: number;
  ms: number;
  /** The largest response, encoded. */
  maxMessageBytes: number;
  revisions: Set<string>;
}

/** Every page of ListTablets with these filters. */
export async function listAllTablets(
  client: CellTopoServiceClient,
  filter: { keyspace?: string; shard?: string; pageSize?: number } = {},
): Promise<ListFigures & { aliases: number[] }> {
  const started = Date.now();
  const figures = { items: 0, pages: 0, ms: 0, maxMessageBytes: 0, revisions: new Set<string>(), aliases: [] as number[] };
  let pageToken = '';
  do {
    const response = await call(
      client.listTablets.bind(client),
      { keyspace: filter.keyspace ?? '', shard: filter.shard ?? '', tabletTypes: [], pageSize: filter.pageSize ?? 0, pageToken },
      60_000,
    );
    figures.pages++;
    figures.items += response.tablets.length;
    figures.maxMessageBytes = Math.max(figures.maxMessageBytes, ListTabletsResponse.encode(response).finish().byteLength);
    figures.revisions.add(response.revision);
    for (const record of response.tablets) figures.aliases.push(record.tablet!.alias!.uid);
    pageToken = response.nextPageToken;
  } while (pageToken !== '');
  figures.ms = Date.now() - started;
  return figures;
}

/** Every page of the path API's List under a prefix. */
export async function listAllPaths(path: PathServiceClient, prefix: string): Promise<ListFigures & { paths: string[] }> {
  const started = Date.now();
  const figures = { items: 0, pages: 0, ms: 0, maxMessageBytes: 0, revisions: new Set<string>(), paths: [] as string[] };
  let pageToken = '';
  do {
    const response = await call(path.list.bind(path), { prefix, pageSize: 0, pageToken }, 60_000);
    figures.pages++;
    figures.items += response.kvs.length;
    figures.maxMessageBytes = Math.max(figures.maxMessageBytes, ListResponse.encode(response).finish().byteLength);
    figures.revisions.add(response.revision);
    for (const kv of response.kvs) figures.paths.push(kv.path);
    pageToken = response.nextPageToken;
  } while (pageToken !== '');
  figures.ms = Date.now() - started;
  return figures;
}

export interface SnapshotFigures {
  ms: number;
  messages: number;
  /** Snapshot entries: tablet records and liveness keys. */
  changes: number;
  maxMessageBytes: number;
  /** The stream's error when the snapshot did not arrive. */
  error?: string;
}

/** A WatchTablets stream's snapshot up to its marker: how long, in how many messages, the largest of them. */
export function watchSnapshot(client: CellTopoServiceClient, timeoutMs = 120_000): Promise<SnapshotFigures> {
  const started = Date.now();
  const figures: SnapshotFigures = { ms: 0, messages: 0, changes: 0, maxMessageBytes: 0 };
  return new Promise((resolve) => {
    const stream = client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata(), {
      deadline: new Date(Date.now() + timeoutMs),
    });
    stream.on('data', (response: WatchTabletsResponse) => {
      figures.messages++;
      figures.maxMessageBytes = Math.max(figures.maxMessageBytes, WatchTabletsResponse.encode(response).finish().byteLength);
      if (response.kind === WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT) figures.changes += response.changes.length;
      if (response.kind === WatchMessageKind.WATCH_MESSAGE_KIND_MARKER) {
        figures.ms = Date.now() - started;
        stream.cancel();
        resolve(figures);
      }
    });
    stream.on('error', (err: Error) => {
      if (figures.ms > 0) return;
      figures.ms = Date.now() - started;
      figures.error = err.message;
      resolve(figures);
    });
  });
}

export interface BigCellFigures {
  tablets: number;
  recordMiB: number;
  fillMs: number;
  listAll: ListFigures;
  listShard: ListFigures;
  pathList: ListFigures;
  snapshot: SnapshotFigures;
}

/** The long form: a cell of `tablets` tablets of `bytes` bytes, listed and snapshotted. */
export async function runBigCellDrill(options: { tablets: number; bytes: number; log?: (line: string) => void }): Promise<BigCellFigures> {
  const log = options.log ?? ((): void => undefined);
  const globalEtcd = await EtcdCluster.start();
  const cellEtcd = await EtcdCluster.start();
  const global = await startGlobalTopo(globalEtcd.endpoints);
  const root = '/drill/big/zone1';
  const cell = await startCellTopo({ endpoints: cellEtcd.endpoints, root, cell: 'zone1', globalAddress: global.address });
  try {
    const filling = Date.now();
    const recordBytes = await fillCell(cell.store, 'zone1', options.tablets, options.bytes);
    const fillMs = Date.now() - filling;
    log(`filled ${options.tablets} tablets (${(recordBytes / 2 ** 20).toFixed(1)} MiB) in ${fillMs} ms`);
    const listAll = await listAllTablets(cell.client);
    log(`ListTablets: ${listAll.items} in ${listAll.pages} pages, ${listAll.ms} ms`);
    const listShard = await listAllTablets(cell.client, { keyspace: 'commerce', shard: SHARDS[0] });
    const pathList = await listAllPaths(cell.path, 'tablets/');
    log(`path List: ${pathList.items} in ${pathList.pages} pages, ${pathList.ms} ms`);
    const snapshot = await watchSnapshot(cell.newClient());
    log(`WatchTablets snapshot: ${snapshot.changes} entries in ${snapshot.messages} messages, ${snapshot.ms} ms${snapshot.error ? `, ${snapshot.error}` : ''}`);
    const summary = ({ items, pages, ms, maxMessageBytes, revisions }: ListFigures): ListFigures => ({ items, pages, ms, maxMessageBytes, revisions });
    return {
      tablets: options.tablets,
      recordMiB: recordBytes / 2 ** 20,
      fillMs,
      listAll: summary(listAll),
      listShard: summary(listShard),
      pathList: summary(pathList),
      snapshot,
    };
  } finally {
    await cell.stop();
    await global.stop();
    await cellEtcd.stop();
    await globalEtcd.stop();
  }
}
