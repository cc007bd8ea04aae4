import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { CellTablets } from '../../libs/client';
import { Tablet, TabletType } from '../../libs/proto';
import { WatchMessageKind, type CellTopoServiceClient, type WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { call, StreamReader } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startCellTopo, type CellTopoFixture } from './cell-topo.fixture';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let roots = 0;

const tablet = (id: number, shard = '-80', type = TabletType.REPLICA, hostname = `host-${id}`): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid: id }, hostname, keyspace: 'ks', shard, type });
const aliasOf = (id: number): string => `zone1-${String(id).padStart(10, '0')}`;

beforeAll(async () => {
  global = await startGlobalTopo(globalEtcd().endpoints);
  const g = global.client;
  await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
  await call(g.createShard.bind(g), { keyspace: 'ks', name: '-80' });
  await call(g.createShard.bind(g), { keyspace: 'ks', name: '80-' });
}, 60_000);
afterAll(async () => {
  await global?.stop();
});

async function newCell(hub?: Parameters<typeof startCellTopo>[0]['hub']): Promise<CellTopoFixture> {
  return startCellTopo({ endpoints: cellEtcd().endpoints, root: `/test/${process.pid}-${++roots}/zone1`, cell: 'zone1', globalAddress: global.address, hub });
}

function watch(client: CellTopoServiceClient, request: Partial<{ keyspace: string; shard: string; tabletTypes: TabletType[]; fromRevision: string }>) {
  return new StreamReader<WatchTabletsResponse>(
    client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0', ...request }, new Metadata()),
  );
}

/** Reads messages until a CHANGES message arrives; returns it. */
async function nextChanges(reader: StreamReader<WatchTabletsResponse>): Promise<WatchTabletsResponse> {
  for (;;) {
    const message = await reader.next();
    if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) return message;
  }
}

describe('cell-topo WatchTablets', () => {
  let cell: CellTopoFixture;
  beforeAll(async () => {
    cell = await newCell();
  });
  afterAll(async () => {
    await cell.stop();
  });

  it('sends a snapshot, a marker, then one message per transaction, each with its revision', async () => {
    const c = cell.client;
    await call(c.createTablet.bind(c), { tablet: tablet(1) });
    const reader = watch(c, {});
    const snapshot = await reader.next();
    expect(snapshot.kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT);
    expect(snapshot.changes.map((ch) => ch.alias)).toEqual([aliasOf(1)]);
    const marker = await reader.next();
    expect(marker).toMatchObject({ kind: WatchMessageKind.WATCH_MESSAGE_KIND_MARKER, revision: snapshot.revision });
    const registered = await call(c.registerTablet.bind(c), {
      registration: { tablet: tablet(2), session: 's', ttl: undefined, takeover: false, leaseId: '0' },
    });
    const change = await nextChanges(reader);
    expect(change.revision).toBe(registered.registered?.revision);
    // Record and liveness of one registration arrive together.
    expect(change.changes.map((ch) => [ch.alias, ch.tablet !== undefined, ch.alive])).toEqual([
      [aliasOf(2), true, undefined],
      [aliasOf(2), false, true],
    ]);
    reader.cancel();
  });

  it('filters on the server by keyspace, shard and type, and tells a subscriber when a tablet leaves its filter', async () => {
    const c = cell.client;
    const replicas80 = watch(c, { keyspace: 'ks', shard: '80-', tabletTypes: [TabletType.REPLICA] });
    const rdonly = watch(c, { tabletTypes: [TabletType.RDONLY] });
    await replicas80.next();
    await rdonly.next();
    await call(c.createTablet.bind(c), { tablet: tablet(10, '-80', TabletType.REPLICA) });
    const created = await call(c.createTablet.bind(c), { tablet: tablet(11, '80-', TabletType.REPLICA) });
    const first = await nextChanges(replicas80);
    expect(first.revision).toBe(created.version);
    expect(first.changes.map((ch) => ch.alias)).toEqual([aliasOf(11)]);
    await call(c.updateTabletFields.bind(c), { alias: aliasOf(11), type: TabletType.RDONLY, hostname: '', portMap: {}, tags: {}, version: '0' });
    const left = await nextChanges(replicas80);
    expect(left.changes).toEqual([expect.objectContaining({ alias: aliasOf(11), removed: true })]);
    const entered = await nextChanges(rdonly);
    expect(entered.changes.map((ch) => [ch.alias, ch.tablet?.type])).toEqual([[aliasOf(11), TabletType.RDONLY]]);
    expect(cell.hub.stats().backendWatches).toBe(1);
    replicas80.cancel();
    rdonly.cancel();
  });

  it('refuses unknown tablet types and bad filters with INVALID_ARGUMENT', async () => {
    for (const request of [{ tabletTypes: [42 as TabletType] }, { shard: '80-40' }, { keyspace: 'a/b' }, { fromRevision: '-3' }]) {
      const err = (await watch(cell.client, request).closed()) as ServiceError;
      expect(err.code).toBe(status.INVALID_ARGUMENT);
    }
  });

  it('resumes without gap or duplicate across 100 forced disconnects while tablets change', async () => {
    const c = cell.client;
    await call(c.createTablet.bind(c), { tablet: tablet(20) });
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 300; i++) {
        const updated = await call(c.updateTabletFields.bind(c), { alias: aliasOf(20), hostname: `h${i}`, portMap: {}, tags: {}, version: '0' });
        written.push(updated.version);
        if (i >= 300) break;
      }
    })();
    const seen: string[] = [];
    const first = watch(c, { shard: '-80' });
    let last = (await first.next()).revision;
    await first.next();
    first.cancel();
    for (let round = 0; round < 100; round++) {
      const reader = watch(c, { shard: '-80', fromRevision: (BigInt(last) + 1n).toString() });
      for (let i = 0; i < 2; i++) {
        const message = await reader.next();
        if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((change) => change.version));
        last = message.revision;
      }
      reader.cancel();
    }
    writing = false;
    await writer;
    const tail = watch(c, { shard: '-80', fromRevision: (BigInt(last) + 1n).toString() });
    while (seen.length === 0 || BigInt(seen[seen.length - 1]) < BigInt(written[written.length - 1])) {
      const message = await tail.next();
      if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((change) => change.version));
    }
    tail.cancel();
    // A message may carry several transactions (the reader was behind): every change has
    // its own version, and together they are each write once, in order.
    const expected = written.filter((revision) => BigInt(revision) > BigInt(seen[0]) - 1n);
    expect(seen).toEqual(expected);
  }, 60_000);
});

describe('cell-topo WatchTablets limits', () => {
  it('answers OUT_OF_RANGE past the history window, and the SDK re-lists', async () => {
    const cell = await newCell({ historyMaxEvents: 10 });
    try {
      const c = cell.client;
      const view = new CellTablets('zone1', cell.newClient(), () => undefined, { minMs: 20, maxMs: 100 });
      await view.ready();
      await call(c.createTablet.bind(c), { tablet: tablet(30) });
      const early = (await call(c.getTablet.bind(c), { alias: aliasOf(30) })).version;
      for (let i = 0; i < 30; i++) {
        await call(c.updateTabletFields.bind(c), { alias: aliasOf(30), hostname: `h${i}`, portMap: {}, tags: {}, version: '0' });
      }
      const err = (await watch(c, { fromRevision: early }).closed()) as ServiceError;
      expect(err.code).toBe(status.OUT_OF_RANGE);
      expect(view.tablets.get(aliasOf(30))?.tablet?.hostname).toBe('h29');
      view.close();
    } finally {
      await cell.stop();
    }
  });

  it('cuts a reader that stops reading while 10,000 events flow, keeps memory bounded, and lets it resume exactly', async () => {
    const queueLimit = 200;
    const cell = await newCell({ queueLimit });
    try {
      const c = cell.client;
      const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
      for (const id of ids) await call(c.createTablet.bind(c), { tablet: tablet(id) });
      const reader = watch(c, {});
      const snapshot = await reader.next();
      await reader.next();
      let last = BigInt(snapshot.revision);
      reader.stream.pause();
      const pausedAt = Date.now();
      // 10,000 changes, written straight to the cell's etcd by 20 writers.
      const written: bigint[] = [];
      await Promise.all(
        ids.map(async (id, w) => {
          for (let i = 0; i < 500; i++) {
            const bytes = Tablet.encode(tablet(id, '-80', TabletType.REPLICA, `w${w}-${i}`)).finish();
            written.push(await cell.store.update(`tablets/${aliasOf(id)}/Tablet`, bytes, null));
          }
        }),
      );
      // The reader stays paused for 30 s in all; the server's backlog for it stays bounded.
      const heapAfterWrites = process.memoryUsage().heapUsed;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, pausedAt + 30_000 - Date.now())));
      const stats = cell.hub.stats();
      expect(stats.maxBacklog).toBeLessThanOrEqual(queueLimit + 1);
      expect(stats.subscribers).toBe(0); // the paused reader was cut, not buffered
      expect(process.memoryUsage().heapUsed - heapAfterWrites).toBeLessThan(64 * 1024 * 1024);
      reader.stream.resume();
      const seen: bigint[] = [];
      let cut: ServiceError | undefined;
      try {
        for (;;) {
          const message = await reader.next(5000);
          if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((change) => BigInt(change.version)));
          last = BigInt(message.revision);
          if (last >= written.reduce((a, b) => (a > b ? a : b))) break;
        }
      } catch (err) {
        cut = err as ServiceError;
      }
      expect(cut?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(cut?.details).toMatch(/resume from revision \d+/);
      // The server names the revision after the last message it sent; messages still in
      // flight when the status arrived are lost to the client, which resumes from what it
      // applied itself.
      expect(BigInt(/resume from revision (\d+)/.exec(cut!.details)![1])).toBeGreaterThanOrEqual(last + 1n);
      const resumeFrom = last + 1n;
      const resumed = watch(c, { fromRevision: resumeFrom.toString() });
      const max = written.reduce((a, b) => (a > b ? a : b));
      while (last < max) {
        const message = await resumed.next();
        if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((change) => BigInt(change.version)));
        last = BigInt(message.revision);
      }
      resumed.cancel();
      expect(seen).toEqual([...written].sort((a, b) => (a < b ? -1 : 1)));
    } finally {
      await cell.stop();
    }
  }, 120_000);
});
