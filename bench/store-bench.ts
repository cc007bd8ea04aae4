/**
 * The etcd store plugin against raw etcd3 calls of the same shape, same etcd, same run:
 * compare-and-swap update latency (sequential and concurrent) and watch delivery latency.
 * Ratios are what matter: the machine is shared and absolute numbers drift.
 *
 *   npx ts-node --transpile-only bench/store-bench.ts [--ops 2000] [--concurrency 16]
 */
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { EtcdCluster } from '../deploy/etcd';
import { TopoStore } from '../libs/store/core/topo-store';
import { EtcdEngine } from '../libs/store/etcd';
import { elapsedMs, printTable, summarize, type Summary } from './stats';

const { values } = parseArgs({
  options: { ops: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' } },
});
const OPS = Number(values.ops);
const CONCURRENCY = Number(values.concurrency);
const payload = Buffer.alloc(200, 7);

/** `concurrency` workers share `count` operations; each worker owns one key, so CAS never conflicts. */
async function timeEach(count: number, concurrency: number, op: (worker: number) => Promise<void>): Promise<{ summary: Summary; opsPerSec: number }> {
  const samples: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < count) {
        next++;
        const t = process.hrtime.bigint();
        await op(worker);
        samples.push(elapsedMs(t));
      }
    }),
  );
  return { summary: summarize(samples), opsPerSec: count / (elapsedMs(started) / 1000) };
}

async function main(): Promise<void> {
  const cluster = await EtcdCluster.start({ members: 1 });
  const raw = new Etcd3({ hosts: cluster.endpoints });
  const store = new TopoStore(new EtcdEngine({ endpoints: cluster.endpoints }), { root: '/bench/store' });
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const concurrency of [1, CONCURRENCY]) {
      const keys = Array.from({ length: concurrency }, (_, i) => `k${i}`);
      // Raw: the same compare-and-swap transaction the store sends, built by hand.
      const rawVersions = new Map<string, string>();
      for (const k of keys) {
        const put = await raw.put(`/bench/raw/${k}`).value(payload).exec();
        rawVersions.set(k, put.header.revision);
      }
      const rawResult = await timeEach(OPS, concurrency, async (worker) => {
        const key = keys[worker];
        const response = await raw.kv.txn({
          compare: [{ key: Buffer.from(`/bench/raw/${key}`), target: 'Mod', result: 'Equal', mod_revision: rawVersions.get(key) }],
          success: [{ request_put: { key: Buffer.from(`/bench/raw/${key}`), value: payload } }],
          failure: [{ request_range: { key: Buffer.from(`/bench/raw/${key}`) } }],
        });
        if (!response.succeeded) throw new Error('raw CAS conflict');
        rawVersions.set(key, response.header.revision);
      });
      const storeVersions = new Map<string, bigint>();
      for (const k of keys) storeVersions.set(k, await store.update(`keyspaces/${k}/Keyspace`, payload, null));
      const storeResult = await timeEach(OPS, concurrency, async (worker) => {
        const key = keys[worker];
        storeVersions.set(key, await store.update(`keyspaces/${key}/Keyspace`, payload, storeVersions.get(key)!));
      });
      rows.push(row(`CAS update, raw etcd3 txn, c=${concurrency}`, rawResult));
      rows.push(row(`CAS update, store.update, c=${concurrency}`, storeResult, rawResult));
    }

    rows.push(...(await watchLatency(raw, store)));
  } finally {
    await store.close();
    raw.close();
    await cluster.stop();
  }
  console.log(`etcd store plugin vs raw etcd3, ${OPS} ops per row, 200-byte values, one local etcd member`);
  printTable(rows);
}

function row(
  name: string,
  result: { summary: Summary; opsPerSec: number },
  baseline?: { summary: Summary; opsPerSec: number },
): Record<string, string | number> {
  return {
    what: name,
    'p50 ms': result.summary.p50,
    'p99 ms': result.summary.p99,
    'ops/s': String(Math.round(result.opsPerSec)),
    'p50 ratio': baseline ? result.summary.p50 / baseline.summary.p50 : 1,
    'p99 ratio': baseline ? result.summary.p99 / baseline.summary.p99 : 1,
  };
}

/** From a write's acknowledgement to the watcher's receipt of it, one write at a time. */
async function watchLatency(raw: Etcd3, store: TopoStore): Promise<Array<Record<string, string | number>>> {
  const count = Math.min(OPS, 1000);
  const rawSamples: number[] = [];
  const watcher = await raw.watch().prefix('/bench/rawwatch/').create();
  let rawNotify: (() => void) | undefined;
  watcher.on('put', () => rawNotify?.());
  watcher.on('error', () => undefined);
  for (let i = 0; i < count; i++) {
    const received = new Promise<void>((resolve) => (rawNotify = resolve));
    await raw.put(`/bench/rawwatch/k${i % 10}`).value(payload).exec();
    const t = process.hrtime.bigint();
    await received;
    rawSamples.push(elapsedMs(t));
  }
  await watcher.cancel();

  const controller = new AbortController();
  const watch = await store.watchRecursive('watched', { signal: controller.signal });
  const storeSamples: number[] = [];
  let storeNotify: (() => void) | undefined;
  const consuming = (async () => {
    try {
      for await (const batch of watch.changes) if (batch.changes.length > 0) storeNotify?.();
    } catch {
      // Interrupted at the end.
    }
  })();
  for (let i = 0; i < count; i++) {
    const received = new Promise<void>((resolve) => (storeNotify = resolve));
    await store.update(`watched/k${i % 10}`, payload, null);
    const t = process.hrtime.bigint();
    await received;
    storeSamples.push(elapsedMs(t));
  }
  controller.abort();
  await consuming;
  const rawSummary = summarize(rawSamples);
  const storeSummary = summarize(storeSamples);
  const asRow = (what: string, s: Summary, base: Summary): Record<string, string | number> => ({
    what,
    'p50 ms': s.p50,
    'p99 ms': s.p99,
    'ops/s': '-',
    'p50 ratio': s.p50 / base.p50,
    'p99 ratio': s.p99 / base.p99,
  });
  return [
    asRow('watch delivery (after ack), raw etcd3 watcher', rawSummary, rawSummary),
    asRow('watch delivery (after ack), store.watchRecursive', storeSummary, rawSummary),
  ];
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
