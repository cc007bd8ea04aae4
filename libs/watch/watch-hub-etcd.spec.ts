import { useEtcdCluster } from '../../deploy/etcd/jest';
import { TopoErrorCode, TopoStore, type Store } from '../store';
import { EtcdEngine } from '../store/etcd';
import type { BatchMessage } from './messages';
import { TcpRelay } from './tcp-relay.fixture';
import { WatchHub } from './watch-hub';
import { ClientView, Reader, describeEvent, storeFiles, text } from './watch-hub.fixture';

let roots = 0;

function etcdStore(endpoints: string[], root: string): { store: Store; engine: EtcdEngine } {
  const engine = new EtcdEngine({ endpoints, requestTimeoutMs: 1000 });
  return { store: new TopoStore(engine, { root }), engine };
}

/** Retries a write until etcd answers again, as a caller riding out an outage would. */
async function writeEventually(store: Store, path: string, value: string): Promise<bigint> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.update(path, text(value), null);
    } catch (err) {
      if ((err as { code?: string }).code !== TopoErrorCode.Unavailable || attempt > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('WatchHub over etcd', () => {
  const etcd = useEtcdCluster({ members: 1 });

  it('heals an etcd compaction past its position with one exact resync batch and skips nothing', async () => {
    const root = `/watch-hub/${process.pid}-${++roots}`;
    const relay = await TcpRelay.start(etcd().endpoints[0]);
    const relayed = etcdStore([relay.url], root);
    const direct = etcdStore(etcd().endpoints, root);
    const lost: string[] = [];
    const hub = new WatchHub(relayed.store, {
      log: (message, fields) => lost.push(`${message} ${JSON.stringify(fields)}`),
    });
    try {
      for (let i = 1; i <= 4; i++) await direct.store.create(`tablets/t${i}/Tablet`, text(`v${i}`));
      const reader = new Reader(hub.subscribe('tablets'));
      await reader.next();
      await reader.next();
      const beforeOutage = new ClientView();
      beforeOutage.files = new Map(reader.view.files);
      beforeOutage.position = reader.view.position;
      const seen = await direct.store.update('tablets/t1/Tablet', text('v1b'), null);
      await reader.catchUp(seen);

      // The hub loses etcd; meanwhile the prefix changes and etcd compacts past the hub.
      relay.cut();
      await direct.store.update('tablets/t2/Tablet', text('v2b'), null);
      await direct.store.delete('tablets/t3/Tablet', null);
      await direct.store.create('tablets/t5/Tablet', text('v5'));
      await direct.store.update('keyspaces/ks/Keyspace', text('elsewhere'), null);
      const last = await direct.store.update('tablets/t1/Tablet', text('v1c'), null);
      await direct.engine.compact(last);
      expect(await reader.read(300)).toBeUndefined();
      expect(reader.subscription.ended.aborted).toBe(false);
      relay.restore();

      const resync = (await reader.next(20_000)) as BatchMessage;
      expect(resync).toMatchObject({ kind: 'batch', revision: last, resync: true });
      expect(resync.events.map(describeEvent)).toEqual([
        'put tablets/t1/Tablet=v1c',
        'put tablets/t2/Tablet=v2b',
        'delete tablets/t3/Tablet',
        'put tablets/t5/Tablet=v5',
      ]);
      const stored = await storeFiles(direct.store, 'tablets');
      expect(reader.view.files).toEqual(stored);
      expect(hub.stats().prefixes[0]).toMatchObject({ resyncs: 1, backendOpens: 2, state: 'live' });
      expect(lost.filter((line) => line.includes('backend watch lost') && line.includes('Compacted'))).toHaveLength(1);

      // The hub's history stays continuous across the heal: a resume from before it is exact.
      const resumed = new Reader(hub.subscribe('tablets', { fromRevision: beforeOutage.position + 1n }), beforeOutage);
      await resumed.catchUp(last);
      expect(beforeOutage.batches.map((b) => [b.revision, b.resync])).toEqual([
        [seen, false],
        [last, true],
      ]);
      expect(beforeOutage.files).toEqual(stored);

      const after = await direct.store.update('tablets/t4/Tablet', text('v4b'), null);
      expect(await reader.next(5000)).toMatchObject({ revision: after, events: [{ path: 'tablets/t4/Tablet' }] });
    } finally {
      await hub.close();
      await relayed.store.close();
      await direct.store.close();
      await relay.close();
    }
  }, 40_000);

  it('keeps subscribers through etcd SIGKILL and restart and delivers every write exactly once', async () => {
    const root = `/watch-hub/${process.pid}-${++roots}`;
    const { store } = etcdStore(etcd().endpoints, root);
    const hub = new WatchHub(store);
    try {
      const reader = new Reader(hub.subscribe('tablets'));
      await reader.next();
      await reader.next();
      const start = reader.view.position;
      const written: bigint[] = [];
      for (let i = 0; i < 20; i++) written.push(await store.update(`tablets/t${i % 7}/Tablet`, text(`before-${i}`), null));
      await etcd().members[0].kill();
      const restarting = etcd().members[0].restart();
      for (let i = 20; i < 40; i++) written.push(await writeEventually(store, `tablets/t${i % 7}/Tablet`, `after-${i}`));
      await restarting;
      await reader.catchUp(written[39], 20_000);

      const values = Array.from({ length: 40 }, (_, i) => `put tablets/t${i % 7}/Tablet=${i < 20 ? 'before' : 'after'}-${i}`);
      expect(reader.view.batches.map((b) => b.revision)).toEqual(written);
      expect(reader.view.batches.map((b) => b.events[0])).toEqual(values);
      expect(hub.stats().prefixes[0]).toMatchObject({ resyncs: 0, backendOpens: 1 });

      // Every write is in the history too: a resume from before the outage replays it all, once.
      const resumed = new Reader(hub.subscribe('tablets', { fromRevision: start + 1n }));
      await resumed.catchUp(written[39]);
      expect(resumed.view.batches.map((b) => b.events[0])).toEqual(values);
    } finally {
      await hub.close();
      await store.close();
    }
  }, 40_000);
});
