import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { CellTablets } from '../../libs/client';
import { followTablets, type TabletEvent } from '../../libs/client/cli/tablet-change-feed';
import { Tablet, TabletType } from '../../libs/proto';
import { WatchMessageKind, type CellTopoServiceClient, type WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { call, StreamReader } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { LIVENESS_DIR, TABLETS_DIR } from '../../libs/topo';
import type { GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startCellTopo, startGlobalWithKeyspace, type CellTopoFixture } from './cell-topo.fixture';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let roots = 0;

// Records of a realistic size (~1 KB with ports and tags), so a stalled reader's HTTP/2
// window fills after a few dozen changes.
const tablet = (id: number, hostname = `host-${id}`): Tablet =>
  Tablet.fromPartial({
    alias: { cell: 'zone1', uid: id },
    hostname,
    keyspace: 'ks',
    shard: '-80',
    type: TabletType.REPLICA,
    portMap: { vt: 15000 + id, grpc: 16000 + id, mysql: 3306 },
    tags: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`label-${i}`, `value-${i}-${'x'.repeat(48)}`])),
  });
const aliasOf = (id: number): string => `zone1-${String(id).padStart(10, '0')}`;

beforeAll(async () => {
  global = await startGlobalWithKeyspace(globalEtcd().endpoints);
}, 60_000);
afterAll(async () => {
  await global?.stop();
});

function newCell(options: { root?: string; hub?: Parameters<typeof startCellTopo>[0]['hub'] } = {}): Promise<CellTopoFixture> {
  return startCellTopo({
    endpoints: cellEtcd().endpoints,
    root: options.root ?? `/fanout/${process.pid}-${++roots}/zone1`,
    cell: 'zone1',
    globalAddress: global.address,
    hub: options.hub,
  });
}

function watch(client: CellTopoServiceClient, fromRevision = '0'): StreamReader<WatchTabletsResponse> {
  return new StreamReader(client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision }, new Metadata()));
}

/**
 * A client whose tablet watches stop reading once they have their marker, as a stalled
 * router would, until `release()`.
 */
function stallingClient(client: CellTopoServiceClient): { client: CellTopoServiceClient; release(): void } {
  const stalled: Array<ClientReadableStream<WatchTabletsResponse>> = [];
  let released = false;
  const stalling = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'watchTablets') return Reflect.get(target, property, receiver) as unknown;
      return (...args: Parameters<CellTopoServiceClient['watchTablets']>) => {
        const stream = target.watchTablets(...args) as ClientReadableStream<WatchTabletsResponse>;
        const onData = (message: WatchTabletsResponse): void => {
          if (message.kind !== WatchMessageKind.WATCH_MESSAGE_KIND_MARKER || released) return;
          stream.off('data', onData);
          setImmediate(() => {
            stream.pause();
            stalled.push(stream);
          });
        };
        stream.on('data', onData);
        return stream;
      };
    },
  });
  return {
    client: stalling,
    release() {
      released = true;
      for (const stream of stalled.splice(0)) stream.resume();
    },
  };
}

/** The cell's tablets as stored: alias -> hostname and liveness. */
async function groundTruth(cell: CellTopoFixture): Promise<Map<string, { hostname: string; alive: boolean }>> {
  const truth = new Map<string, { hostname: string; alive: boolean }>();
  const alive = new Set((await cell.store.list(`${LIVENESS_DIR}/`)).map((kv) => kv.path.slice(LIVENESS_DIR.length + 1)));
  for (const kv of await cell.store.list(`${TABLETS_DIR}/`)) {
    const record = Tablet.decode(kv.contents);
    const alias = kv.path.split('/')[1];
    truth.set(alias, { hostname: record.hostname, alive: alive.has(alias) });
  }
  return truth;
}

/** 1,500 single-record transactions and 50 registrations (record and liveness in one transaction), in order. */
async function churn(cell: CellTopoFixture, ids: number[]): Promise<bigint[][]> {
  const transactions: bigint[][] = [];
  for (let i = 0; i < 1500; i++) {
    const id = ids[i % ids.length];
    const revision = await cell.store.update(`tablets/${aliasOf(id)}/Tablet`, Tablet.encode(tablet(id, `h${i}`)).finish(), null);
    transactions.push([revision]);
    if (i % 30 === 0) {
      const fresh = 500 + i / 30;
      const registered = await call(cell.client.registerTablet.bind(cell.client), {
        registration: { tablet: tablet(fresh), session: `s${fresh}`, ttl: { seconds: '30', nanos: 0 }, takeover: false, leaseId: '0' },
      });
      // The record and its liveness: two changes of one transaction.
      const revision = BigInt(registered.registered!.revision);
      transactions.push([revision, revision]);
    }
  }
  return transactions;
}

describe('cell-topo WatchTablets fan-out', () => {
  it('gives a stream that stopped reading one merged message per drain: its changes equal what it missed, in order, no transaction split', async () => {
    const cell = await newCell({ hub: { queueLimit: 10_000 } });
    try {
      const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
      for (const id of ids) await call(cell.client.createTablet.bind(cell.client), { tablet: tablet(id) });
      const reader = watch(cell.client);
      await reader.next();
      const marker = await reader.next();
      expect(marker.kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER);
      reader.stream.pause();
      const transactions = await churn(cell, ids);
      // The transport filled up: the hub holds the rest as backlog in its shared history.
      await until('the paused stream is behind', () => cell.hub.stats().maxBacklog > 100);
      reader.stream.resume();

      const last = transactions[transactions.length - 1][0];
      const messages: WatchTabletsResponse[] = [];
      while (messages.length === 0 || BigInt(messages[messages.length - 1].revision) < last) {
        const message = await reader.next();
        if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) messages.push(message);
      }
      reader.stream.cancel();

      expect(messages.flatMap((m) => m.changes.map((c) => BigInt(c.version)))).toEqual(transactions.flat());
      const merged = messages.filter((m) => m.transactions > 1);
      expect(merged.length).toBeGreaterThan(0);
      expect(cell.hub.stats().messagesMerged).toBeGreaterThan(0);
      for (const message of messages) {
        const versions = message.changes.map((c) => BigInt(c.version));
        expect(new Set(versions).size).toBe(message.transactions);
        expect(BigInt(message.revision)).toBe(versions[versions.length - 1]);
        expect(message.continued).toBe(false);
      }
      // A transaction's changes never straddle two messages.
      const seenIn = new Map<bigint, number>();
      messages.forEach((message, index) => {
        for (const change of message.changes) {
          const version = BigInt(change.version);
          expect(seenIn.get(version) ?? index).toBe(index);
          seenIn.set(version, index);
        }
      });
    } finally {
      await cell.stop();
    }
  }, 120_000);

  it('leaves RouterView and topoctl watch with the ground truth after applying merged messages', async () => {
    const cell = await newCell({ hub: { queueLimit: 10_000 } });
    const abort = new AbortController();
    try {
      const ids = Array.from({ length: 20 }, (_, i) => 200 + i);
      for (const id of ids) await call(cell.client.createTablet.bind(cell.client), { tablet: tablet(id) });
      const routerClient = stallingClient(cell.newClient());
      const feedClient = stallingClient(cell.newClient());
      const view = new CellTablets('zone1', routerClient.client, () => undefined, { minMs: 20, maxMs: 100 });
      const events: TabletEvent[] = [];
      const feed = followTablets({
        client: feedClient.client,
        filter: { keyspace: '', shard: '', tabletTypes: [] },
        signal: abort.signal,
        onEvent: (event) => events.push(event),
        onNote: () => undefined,
      });
      await view.ready();
      await until('topoctl watch has its snapshot', () => events.length >= ids.length);
      const transactions = await churn(cell, ids);
      // Both streams stalled through the churn: the hub holds what they missed.
      await until('the stalled streams are behind', () => cell.hub.stats().maxBacklog > 100);
      routerClient.release();
      feedClient.release();
      const last = transactions[transactions.length - 1][0];
      await until('the router view caught up', () => view.appliedRevision >= last, 30_000);
      await until('topoctl watch caught up', () => events.some((e) => BigInt(e.revision) >= last), 30_000);
      expect(cell.hub.stats().messagesMerged).toBeGreaterThan(0);

      const truth = await groundTruth(cell);
      const routed = new Map([...view.tablets].map(([alias, entry]) => [alias, { hostname: entry.tablet!.hostname, alive: entry.alive }]));
      expect(routed).toEqual(truth);
      const followed = new Map<string, { hostname: string; alive: boolean }>();
      for (const event of events) {
        if (event.state === 'removed') followed.delete(event.alias);
        else followed.set(event.alias, { hostname: event.tablet!.hostname, alive: event.state === 'alive' });
      }
      expect(followed).toEqual(truth);
      view.close();
      abort.abort();
      await feed;
    } finally {
      abort.abort();
      await cell.stop();
    }
  }, 120_000);
});

describe('cell-topo WatchTablets across processes of one cell', () => {
  it('resumes on another process from a revision it has not reached yet, exactly; a revision beyond the backend is OUT_OF_RANGE', async () => {
    const root = `/fanout/${process.pid}-${++roots}/zone1`;
    const first = await newCell({ root });
    const second = await newCell({ root });
    try {
      await call(first.client.createTablet.bind(first.client), { tablet: tablet(300) });
      const reader = watch(first.client);
      await reader.next();
      const marker = await reader.next();
      // The second process already follows the cell (another router watches through it).
      const other = watch(second.client);
      await other.next();
      await other.next();
      // The backend moves past what either hub has seen: a write outside the cell's root,
      // as a router holding a bookmark from a process that heard of it first would know.
      const raw = new Etcd3({ hosts: cellEtcd().endpoints });
      await raw.put(`/fanout-elsewhere/${process.pid}`).value('x');
      raw.close();
      const ahead = (await second.store.currentRevision()) + 1n;
      expect(ahead).toBeGreaterThan(BigInt(marker.revision) + 1n);
      expect(second.hub.stats().prefixes[0].revision).toBeLessThan(ahead - 1n);
      other.stream.cancel();
      const resumed = watch(second.client, ahead.toString());
      const written = await call(first.client.updateTabletFields.bind(first.client), {
        alias: aliasOf(300),
        hostname: 'moved',
        portMap: {},
        tags: {},
        version: '0',
      });
      let message = await resumed.next();
      while (message.kind !== WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) message = await resumed.next();
      expect(message.changes.map((c) => [c.alias, c.tablet?.hostname, c.version])).toEqual([[aliasOf(300), 'moved', written.version]]);
      resumed.stream.cancel();

      const bogus = watch(second.client, (ahead + 1_000_000n).toString());
      const err = (await bogus.closed()) as ServiceError;
      expect(err.code).toBe(status.OUT_OF_RANGE);
    } finally {
      await first.stop();
      await second.stop();
    }
  }, 60_000);
});
