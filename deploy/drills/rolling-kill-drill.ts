/**
 * Rolling SIGKILL: one member of global-topo's 3-member etcd is killed (and restarted) every
 * few seconds while clients write files through the path API, watch them, and create shards
 * under the keyspace lock with a deadline. Checks the acknowledged history (every
 * acknowledged write is in the final state's history and seen once, in order, by the
 * watcher; no value appears that nobody wrote) and measures lock availability: the share of
 * lock-protected writes that completed within their deadline, and how many committed after
 * their client had given up (must be 0).
 */
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { PathServiceClient, type WatchRecursiveResponse } from '../../libs/proto/gen/topo/path/v1/path';
import { call } from '../../libs/testing/grpc-call';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { EtcdCluster } from '../etcd';
import { summarize } from '../../bench/stats';

export interface RollingKillOptions {
  durationMs: number;
  killEveryMs: number;
  /** Concurrent file writers through the path API. */
  writers: number;
  /** Concurrent CreateShard loops on one keyspace (all queue on its lock). */
  lockWriters: number;
  /** A lock-protected write's deadline, retries included. */
  lockDeadlineMs: number;
  log?: (line: string) => void;
}

export interface RollingKillFigures {
  kills: number;
  ackedWrites: number;
  /** Acknowledged writes missing from the watcher's history or from the final state. */
  lostWrites: number;
  /** Values seen that no writer ever sent. */
  foreignValues: number;
  /** Acknowledged changes the watcher saw twice, or out of order for their file. */
  duplicateOrReordered: number;
  lockWrites: number;
  lockWritesOk: number;
  lockSuccessPercent: number;
  lockP50Ms: number;
  lockP99Ms: number;
  /** Lock-protected writes given up by their client that committed anyway. */
  lateCommits: number;
}

interface Ack {
  path: string;
  value: string;
  version: bigint;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (err: unknown): number | undefined => (err as Partial<ServiceError>).code;

export async function runRollingKillDrill(options: RollingKillOptions): Promise<RollingKillFigures> {
  const log = options.log ?? ((): void => undefined);
  const etcd = await EtcdCluster.start({ members: 3 });
  const topo = await startGlobalTopo(etcd.endpoints);
  const path = new PathServiceClient(topo.address, credentials.createInsecure());
  const g = topo.client;
  const stop = { writing: false };
  try {
    await call(g.createKeyspace.bind(g), { name: 'drill', keyspace: undefined });

    // The watcher: every change under drill-data/, resuming from its last revision whenever
    // the stream ends, as a router would.
    const seen: Array<{ path: string; value: string; version: bigint }> = [];
    let lastRevision = 0n;
    const watchStop = new AbortController();
    const watching = (async () => {
      while (!watchStop.signal.aborted) {
        await new Promise<void>((resolve) => {
          const stream = path.watchRecursive({ path: 'drill-data', fromRevision: lastRevision === 0n ? '0' : String(lastRevision + 1n) });
          const onAbort = (): void => stream.cancel();
          watchStop.signal.addEventListener('abort', onAbort, { once: true });
          stream.on('data', (response: WatchRecursiveResponse) => {
            for (const change of response.changes) {
              seen.push({ path: change.path, value: Buffer.from(change.contents).toString(), version: BigInt(change.version) });
            }
            lastRevision = BigInt(response.revision);
          });
          stream.on('error', () => undefined);
          stream.on('close', () => {
            watchStop.signal.removeEventListener('abort', onAbort);
            resolve();
          });
        });
        await sleep(100);
      }
    })();
    await sleep(300);

    stop.writing = true;
    const acks: Ack[] = [];
    const attempted = new Set<string>();
    const writers = Array.from({ length: options.writers }, async (_, w) => {
      for (let seq = 0; stop.writing; seq++) {
        const file = `drill-data/w${w}`;
        const value = `w${w}-${seq}`;
        attempted.add(value);
        try {
          const { version } = await call(path.update.bind(path), { path: file, contents: Buffer.from(value), version: '0' }, 5000);
          acks.push({ path: file, value, version: BigInt(version) });
        } catch {
          await sleep(100);
        }
      }
    });

    const lockLatencies: number[] = [];
    const gaveUp: string[] = [];
    let lockWrites = 0;
    const lockWriters = Array.from({ length: options.lockWriters }, async (_, w) => {
      for (let seq = 0; stop.writing; seq++) {
        // A key range of its own per write: names must be key ranges, and these never repeat.
        const start = w * 2 ** 24 + seq;
        const name = `${start.toString(16).padStart(8, '0')}-${(start + 1).toString(16).padStart(8, '0')}`;
        const started = Date.now();
        const deadline = started + options.lockDeadlineMs;
        lockWrites++;
        let ok = false;
        let lastError: unknown;
        for (let attempt = 0; Date.now() < deadline; attempt++) {
          try {
            await call(g.createShard.bind(g), { keyspace: 'drill', name }, deadline - Date.now());
            ok = true;
          } catch (err) {
            lastError = err;
            // A retry after an answer lost with a member: the first attempt applied.
            if (attempt > 0 && codeOf(err) === status.ALREADY_EXISTS) ok = true;
            else if (codeOf(err) === status.UNAVAILABLE) await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
            else if (codeOf(err) !== status.DEADLINE_EXCEEDED) throw err;
          }
          if (ok) break;
        }
        if (ok) lockLatencies.push(Date.now() - started);
        else {
          gaveUp.push(name);
          log(`lock write ${name} gave up after ${Date.now() - started} ms: ${String(lastError)}`);
        }
      }
    });

    let kills = 0;
    const killing = (async () => {
      const until = Date.now() + options.durationMs;
      while (Date.now() < until) {
        await sleep(options.killEveryMs);
        const member = etcd.members[kills % etcd.members.length];
        await member.kill();
        kills++;
        log(`killed ${member.name} (${kills})`);
        await member.restart();
      }
    })();
    await killing;
    stop.writing = false;
    await Promise.all([...writers, ...lockWriters]);
    await etcd.waitHealthy();

    // Late commits: a write given up by its client must never appear, even after every
    // lock it might still have been queued on has long been granted.
    await sleep(3000);
    let lateCommits = 0;
    for (const name of gaveUp) {
      try {
        await call(g.getShard.bind(g), { keyspace: 'drill', name });
        lateCommits++;
      } catch (err) {
        if (codeOf(err) !== status.NOT_FOUND) throw err;
      }
    }

    // The acknowledged history, against the watcher and the final state.
    await call(path.update.bind(path), { path: 'drill-data/end', contents: Buffer.from('end'), version: '0' });
    const settled = Date.now();
    while (!seen.some((change) => change.path === 'drill-data/end') && Date.now() - settled < 15_000) await sleep(50);
    watchStop.abort();
    await watching;
    const seenCount = new Map<string, number>();
    for (const change of seen) seenCount.set(`${change.path}@${change.version}`, (seenCount.get(`${change.path}@${change.version}`) ?? 0) + 1);
    let lostWrites = 0;
    let duplicateOrReordered = 0;
    for (const ack of acks) {
      const count = seenCount.get(`${ack.path}@${ack.version}`) ?? 0;
      if (count === 0) lostWrites++;
      if (count > 1) duplicateOrReordered++;
      const value = seen.find((change) => change.path === ack.path && change.version === ack.version)?.value;
      if (value !== undefined && value !== ack.value) lostWrites++;
    }
    const lastVersion = new Map<string, bigint>();
    for (const change of seen) {
      if ((lastVersion.get(change.path) ?? -1n) >= change.version) duplicateOrReordered++;
      lastVersion.set(change.path, change.version);
    }
    const foreignValues = seen.filter((change) => change.path !== 'drill-data/end' && !attempted.has(change.value)).length;
    for (let w = 0; w < options.writers; w++) {
      const file = `drill-data/w${w}`;
      const last = acks.filter((ack) => ack.path === file).pop();
      if (!last) continue;
      const current = await call(path.get.bind(path), { path: file });
      if (BigInt(current.version) < last.version) lostWrites++;
    }
    const lockWritesOk = lockLatencies.length;
    const latency = summarize(lockLatencies);
    return {
      kills,
      ackedWrites: acks.length,
      lostWrites,
      foreignValues,
      duplicateOrReordered,
      lockWrites,
      lockWritesOk,
      lockSuccessPercent: lockWrites === 0 ? 0 : (100 * lockWritesOk) / lockWrites,
      lockP50Ms: latency.p50,
      lockP99Ms: latency.p99,
      lateCommits,
    };
  } finally {
    stop.writing = false;
    path.close();
    await topo.stop();
    await etcd.stop();
  }
}
