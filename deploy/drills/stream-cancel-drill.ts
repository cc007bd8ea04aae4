/**
 * Abrupt stream cancels: a client process opens WatchTablets streams on cell-topo, path
 * Watch streams and queued Lock streams on global-topo, then is SIGKILLed. Everything the
 * services opened in etcd for those streams (watchers, lock keys and their leases) must go
 * back to the baseline counted before, and quickly.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Locks } from '../../libs/topo';
import { call } from '../../libs/testing/grpc-call';
import { startCellTopo } from '../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { EtcdCluster } from '../etcd';
import { etcdCounts, type EtcdCounts } from './etcd-counts';

export interface StreamCancelOptions {
  rounds: number;
  tabletWatches: number;
  pathWatches: number;
  locks: number;
  log?: (line: string) => void;
}

export interface StreamCancelFigures {
  streamsCancelled: number;
  /** The fewest Lock streams found queued at once in a round (all of them unless overloaded). */
  minLocksQueued: number;
  baseline: EtcdCounts;
  /** The highest counts while the streams were open. */
  peak: EtcdCounts;
  /** Counts once settled after the last round. */
  after: EtcdCounts;
  /** Slowest return to the baseline after a SIGKILL, over the rounds. */
  maxBackToBaselineMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runStreamCancelDrill(options: StreamCancelOptions): Promise<StreamCancelFigures> {
  const log = options.log ?? ((): void => undefined);
  const globalEtcd = await EtcdCluster.start();
  const cellEtcd = await EtcdCluster.start();
  const global = await startGlobalTopo(globalEtcd.endpoints);
  const root = '/drill/streams/zone1';
  const cell = await startCellTopo({ endpoints: cellEtcd.endpoints, root, cell: 'zone1', globalAddress: global.address });
  const counts = async (): Promise<EtcdCounts> => {
    const [g, c] = await Promise.all([etcdCounts(globalEtcd.endpoints), etcdCounts(cellEtcd.endpoints)]);
    return { watchers: g.watchers + c.watchers, leases: g.leases + c.leases };
  };
  try {
    const g = global.client;
    await call(g.createKeyspace.bind(g), { name: 'drill', keyspace: undefined });
    await call(g.createCellInfo.bind(g), { name: 'zone1', cellInfo: { serverAddress: cell.address, root } });
    const locks = new Locks(global.store);
    // One WatchTablets first, so the hub's own watch is part of the baseline.
    await runClient(global.address, cell.address, 1, 0, 0, async () => undefined);
    await sleep(500);
    const baseline = await counts();
    log(`baseline: ${JSON.stringify(baseline)}`);
    const peak: EtcdCounts = { ...baseline };
    let maxBackToBaselineMs = 0;
    let minQueued = options.locks;
    for (let round = 1; round <= options.rounds; round++) {
      await runClient(global.address, cell.address, options.tabletWatches, options.pathWatches, options.locks, async () => {
        // Every Lock stream queued; under heavy load some may have ended (UNAVAILABLE) first.
        const queueing = Date.now();
        // The drill's own reads may time out on a loaded machine: they only wait, so retry.
        const queued = (): Promise<number> => locks.keyspaceLocks('drill').then((queue) => queue.length, () => -1);
        while ((await queued()) < options.locks && Date.now() - queueing < 30_000) await sleep(50);
        minQueued = Math.min(minQueued, await queued());
        const open = await counts();
        peak.watchers = Math.max(peak.watchers, open.watchers);
        peak.leases = Math.max(peak.leases, open.leases);
      });
      const killed = Date.now();
      for (;;) {
        const now = await counts().catch(() => undefined);
        if (now === undefined) {
          await sleep(100);
          continue;
        }
        if (now.watchers <= baseline.watchers && now.leases <= baseline.leases) break;
        if (Date.now() - killed > 60_000) throw new Error(`round ${round}: still ${JSON.stringify(now)} a minute after the SIGKILL`);
        await sleep(100);
      }
      maxBackToBaselineMs = Math.max(maxBackToBaselineMs, Date.now() - killed);
      log(`round ${round}: back to baseline ${Date.now() - killed} ms after the SIGKILL`);
    }
    await sleep(1000);
    return {
      streamsCancelled: options.rounds * (options.tabletWatches + options.pathWatches + options.locks),
      minLocksQueued: minQueued,
      baseline,
      peak,
      after: await counts(),
      maxBackToBaselineMs,
    };
  } finally {
    await cell.stop();
    await global.stop();
    await cellEtcd.stop();
    await globalEtcd.stop();
  }
}

/** Starts the client process, waits until its streams are open and `whileOpen` is done, then SIGKILLs it. */
async function runClient(
  globalAddress: string,
  cellAddress: string,
  tabletWatches: number,
  pathWatches: number,
  locks: number,
  whileOpen: () => Promise<void>,
): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      require.resolve('./stream-client.fixture.ts'),
      globalAddress,
      cellAddress,
      String(tabletWatches),
      String(pathWatches),
      String(locks),
    ],
    // stdin stays open while this process lives: the client exits when it closes.
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => line === 'open' && resolve());
      child.once('exit', (code) => reject(new Error(`stream client exited (${code}) before its streams were open`)));
    });
    await whileOpen();
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
