import { Metadata } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { CellTablets } from '../../libs/client';
import { Tablet, TabletType } from '../../libs/proto';
import { WatchMessageKind, type CellTopoServiceClient, type WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { call, StreamReader } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import type { GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startCellTopo, startGlobalWithKeyspace, type CellTopoFixture } from './cell-topo.fixture';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;

const tablet = (id: number, hostname = `host-${id}`): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid: id }, hostname, keyspace: 'ks', shard: '-80', type: TabletType.REPLICA });

beforeAll(async () => {
  global = await startGlobalWithKeyspace(globalEtcd().endpoints);
  cell = await startCellTopo({ endpoints: cellEtcd().endpoints, root: `/stale/${process.pid}/zone1`, cell: 'zone1', globalAddress: global.address });
}, 60_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

function watch(client: CellTopoServiceClient): StreamReader<WatchTabletsResponse> {
  return new StreamReader(client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata()));
}

async function nextOfKind(reader: StreamReader<WatchTabletsResponse>, kind: WatchMessageKind, timeoutMs = 15_000): Promise<WatchTabletsResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = await reader.next(Math.max(1, deadline - Date.now()));
    if (message.kind === kind) return message;
  }
}

describe('cell-topo watches while etcd is unreachable', () => {
  it('tell every open and new watch that the view is stale since when, keep serving it, and say when it is live again', async () => {
    const created = await call(cell.client.createTablet.bind(cell.client), { tablet: tablet(1) });
    const open = watch(cell.client);
    const marker = await nextOfKind(open, WatchMessageKind.WATCH_MESSAGE_KIND_MARKER);
    const view = new CellTablets('zone1', cell.newClient(), () => undefined, { minMs: 20, maxMs: 100 });
    try {
      await view.ready();
      expect(view.staleForMs).toBe(0);

      const stoppedAt = Date.now();
      await cellEtcd().members[0].stop();
      const told = await nextOfKind(open, WatchMessageKind.WATCH_MESSAGE_KIND_STATUS);
      expect(told.backend?.reachable).toBe(false);
      expect(told.backend!.unreachableSince!.getTime()).toBeGreaterThanOrEqual(stoppedAt - 1000);
      expect(BigInt(told.revision)).toBeGreaterThanOrEqual(BigInt(marker.revision));
      await until('the router view says it is stale', () => view.staleForMs > 0);
      expect(view.backendUnreachable).toBeInstanceOf(Date);
      // The view is kept: the tablet is still there.
      expect(view.tablets.get('zone1-0000000001')?.tablet?.hostname).toBe('host-1');

      // A watch opened during the outage gets the hub's view, then is told it may be stale.
      const late = watch(cell.client);
      const snapshot = await late.next();
      expect(snapshot.kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT);
      expect(snapshot.changes.map((c) => c.version)).toEqual([created.version]);
      expect((await late.next()).kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER);
      const lateStatus = await late.next();
      expect(lateStatus.kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_STATUS);
      expect(lateStatus.backend?.reachable).toBe(false);

      await cellEtcd().members[0].restart();
      for (const reader of [open, late]) {
        const live = await nextOfKind(reader, WatchMessageKind.WATCH_MESSAGE_KIND_STATUS, 30_000);
        expect(live.backend?.reachable).toBe(true);
        expect(live.backend?.unreachableSince).toBeUndefined();
      }
      await until('the router view is live again', () => view.staleForMs === 0, 10_000);

      const updated = await call(cell.client.updateTabletFields.bind(cell.client), {
        alias: 'zone1-0000000001',
        hostname: 'after',
        portMap: {},
        tags: {},
        version: '0',
      });
      for (const reader of [open, late]) {
        const change = await nextOfKind(reader, WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES);
        expect(change.changes.map((c) => [c.tablet?.hostname, c.version])).toEqual([['after', updated.version]]);
        reader.stream.cancel();
      }
      await until('the router view has the change', () => view.tablets.get('zone1-0000000001')?.tablet?.hostname === 'after');
    } finally {
      view.close();
    }
  }, 90_000);
});
