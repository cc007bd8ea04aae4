/**
 * Surviving a cell, Vitess's rule for the global topology: three cells, the global etcd
 * with one member in each and a global-topo replica in each (every replica knows every
 * member); each cell has its own etcd and cell-topo, which talks to its cell's replica.
 * A whole cell is SIGKILLed at once (its global etcd member, its cell etcd, its cell-topo
 * and its global-topo replica). The other cells must keep registering tablets, taking
 * shard locks and writing under their fence, and writing the global topology through
 * their replicas, while their routers' WatchTablets streams go on undisturbed. When the
 * cell returns, its replica and cell-topo serve again with what changed meanwhile.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Keyspace, Tablet, TabletType } from '../../libs/proto';
import { HealthClient, HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { CellTopoServiceClient, WatchMessageKind, type WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient, LockKind, type LockResponse } from '../../libs/proto/gen/topo/global/v1/global';
import { call } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { EtcdCluster } from '../etcd';
import { pickFreePorts } from '../etcd/free-ports';
import { ServiceProcess } from '../stack/service-process';
import { summarize } from '../../bench/stats';

export interface CellFailureOptions {
  /** How long the surviving cells are exercised while the failed cell is down. */
  outageMs: number;
  log?: (line: string) => void;
}

export interface CellFailureFigures {
  /** Operation kind -> attempts, successes within their 5 s deadline, p99 ms. */
  operations: Record<string, { attempts: number; ok: number; p99Ms: number }>;
  /** Errors on the surviving cells' WatchTablets streams (must be 0). */
  routerStreamErrors: number;
  /** Registrations in surviving cells their own router stream did not show. */
  registrationsNotSeen: number;
  /** From the restart of the failed cell to its replica and cell-topo both SERVING. */
  failedCellBackMs: number;
  /** The failed cell's replica, once back, reads the keyspace as the others last wrote it. */
  failedCellCaughtUp: boolean;
}

const CELLS = ['zone1', 'zone2', 'zone3'];
const ROOT = '/topo/global';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Cell {
  name: string;
  etcd: EtcdCluster;
  globalPort: number;
  cellPort: number;
  replica?: ServiceProcess;
  cellTopo?: ServiceProcess;
}

/** Retries on UNAVAILABLE until the deadline, as a client riding out a fail-over would. */
async function withinDeadline<T>(deadlineMs: number, attempt: (remainingMs: number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await attempt(Math.max(1, deadline - Date.now()));
    } catch (err) {
      if ((err as ServiceError).code !== status.UNAVAILABLE || Date.now() >= deadline - 100) throw err;
      await sleep(100);
    }
  }
}

export async function runCellFailureDrill(options: CellFailureOptions): Promise<CellFailureFigures> {
  const log = options.log ?? ((): void => undefined);
  const logDir = mkdtempSync(join(tmpdir(), 'topo-cell-failure-'));
  const globalEtcd = await EtcdCluster.start({ members: 3 });
  const ports = await pickFreePorts(CELLS.length * 2, '127.0.0.1');
  const cells: Cell[] = [];
  for (const [i, name] of CELLS.entries()) {
    cells.push({ name, etcd: await EtcdCluster.start(), globalPort: ports[2 * i], cellPort: ports[2 * i + 1] });
  }
  const closers: Array<{ close(): void }> = [];
  const globalClient = (cell: Cell): GlobalTopoServiceClient => {
    const client = new GlobalTopoServiceClient(`127.0.0.1:${cell.globalPort}`, credentials.createInsecure());
    closers.push(client);
    return client;
  };
  const cellClient = (cell: Cell): CellTopoServiceClient => {
    const client = new CellTopoServiceClient(`127.0.0.1:${cell.cellPort}`, credentials.createInsecure());
    closers.push(client);
    return client;
  };
  const startReplica = async (cell: Cell, index: number): Promise<void> => {
    // The cell's own member first, then the others.
    const endpoints = [globalEtcd.endpoints[index], ...globalEtcd.endpoints.filter((_, j) => j !== index)];
    cell.replica = await ServiceProcess.start({
      main: join(__dirname, '..', '..', 'services', 'global-topo', 'main.ts'),
      args: ['--etcd-endpoints', endpoints.join(','), '--listen', `127.0.0.1:${cell.globalPort}`, '--root', ROOT, '--request-timeout', '2000'],
      logFile: join(logDir, `global-topo-${cell.name}.log`),
    });
  };
  const startCellTopo = async (cell: Cell): Promise<void> => {
    cell.cellTopo = await ServiceProcess.start({
      main: join(__dirname, '..', '..', 'services', 'cell-topo', 'main.ts'),
      args: [
        '--etcd-endpoints', cell.etcd.endpoints.join(','),
        '--cell', cell.name,
        '--global-topo', `127.0.0.1:${cell.globalPort}`,
        '--root', `/topo/${cell.name}`,
        '--listen', `127.0.0.1:${cell.cellPort}`,
        '--request-timeout', '2000',
      ],
      logFile: join(logDir, `cell-topo-${cell.name}.log`),
    });
  };
  const serving = async (port: number): Promise<boolean> => {
    const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      return (await call(health.check.bind(health), { service: '' }, 1000)).status === Status.SERVING;
    } catch {
      return false;
    } finally {
      health.close();
    }
  };
  const routerStreams: Array<{ cancel(): void }> = [];
  try {
    for (const [i, cell] of cells.entries()) await startReplica(cell, i);
    const first = globalClient(cells[0]);
    await call(first.createKeyspace.bind(first), { name: 'ks', keyspace: undefined });
    await call(first.createShard.bind(first), { keyspace: 'ks', name: '-80' });
    for (const cell of cells) {
      await call(first.createCellInfo.bind(first), { name: cell.name, cellInfo: { serverAddress: `127.0.0.1:${cell.cellPort}`, root: `/topo/${cell.name}` } });
    }
    for (const cell of cells) await startCellTopo(cell);
    for (const cell of cells) await until(`cell-topo ${cell.name} SERVING`, () => serving(cell.cellPort), 30_000);
    log('three cells serving');

    const [failed, ...surviving] = [cells[2], cells[0], cells[1]];
    // Routers of the surviving cells: a WatchTablets stream each, which must not notice.
    let routerStreamErrors = 0;
    const seenAliases = new Map<string, Set<number>>();
    for (const cell of surviving) {
      const client = cellClient(cell);
      const seen = new Set<number>();
      seenAliases.set(cell.name, seen);
      const stream = client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata());
      stream.on('data', (response: WatchTabletsResponse) => {
        if (response.kind !== WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES && response.kind !== WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT) return;
        for (const change of response.changes) if (change.tablet?.alias) seen.add(change.tablet.alias.uid);
      });
      stream.on('error', (err: ServiceError) => {
        if (err.code !== status.CANCELLED) routerStreamErrors++;
      });
      routerStreams.push(stream);
    }
    await sleep(500);

    // The whole cell at once.
    await Promise.all([globalEtcd.members[2].kill(), failed.etcd.members[0].kill()]);
    failed.replica!.child.kill('SIGKILL');
    failed.cellTopo!.child.kill('SIGKILL');
    log(`cell ${failed.name} SIGKILLed: its global etcd member, cell etcd, cell-topo and global-topo replica`);

    const samples = new Map<string, { attempts: number; latencies: number[] }>();
    const record = async (kind: string, operation: () => Promise<unknown>): Promise<void> => {
      const entry = samples.get(kind) ?? { attempts: 0, latencies: [] };
      samples.set(kind, entry);
      entry.attempts++;
      const started = Date.now();
      try {
        await operation();
        entry.latencies.push(Date.now() - started);
      } catch (err) {
        log(`${kind} failed: ${(err as Error).message}`);
      }
    };
    const registered = new Map<string, number[]>();
    const outageEnds = Date.now() + options.outageMs;
    let uid = 1000;
    let lastKeyspaceWrite = '';
    await Promise.all(
      surviving.map(async (cell) => {
        const cellApi = cellClient(cell);
        const global = globalClient(cell);
        while (Date.now() < outageEnds) {
          const id = uid++;
          await record('RegisterTablet', () =>
            withinDeadline(5000, (ms) =>
              call(
                cellApi.registerTablet.bind(cellApi),
                {
                  registration: {
                    tablet: Tablet.fromPartial({ alias: { cell: cell.name, uid: id }, hostname: `h${id}`, keyspace: 'ks', shard: '-80', type: TabletType.REPLICA }),
                    session: `drill-${id}`,
                    ttl: { seconds: '30', nanos: 0 },
                    takeover: false,
                    leaseId: '0',
                  },
                },
                ms,
              ),
            ).then(() => registered.set(cell.name, [...(registered.get(cell.name) ?? []), id])),
          );
          await record('shard lock + fenced write', () => lockAndWrite(global, cell.name));
          const value = `${cell.name}-${id}`;
          await record('UpdateKeyspace', () =>
            withinDeadline(5000, (ms) =>
              call(global.updateKeyspace.bind(global), { name: 'ks', keyspace: Keyspace.fromPartial({ durabilityPolicy: value }), version: '0', fence: undefined }, ms),
            ).then(() => (lastKeyspaceWrite = value)),
          );
        }
      }),
    );
    await sleep(1000);
    let registrationsNotSeen = 0;
    for (const cell of surviving) {
      const seen = seenAliases.get(cell.name)!;
      registrationsNotSeen += (registered.get(cell.name) ?? []).filter((id) => !seen.has(id)).length;
    }

    // The cell comes back.
    const restarted = Date.now();
    await Promise.all([globalEtcd.members[2].restart(), failed.etcd.members[0].restart()]);
    await startReplica(failed, 2);
    await startCellTopo(failed);
    await until(`cell-topo ${failed.name} SERVING again`, () => serving(failed.cellPort), 30_000);
    await until(`global-topo ${failed.name} SERVING again`, () => serving(failed.globalPort), 30_000);
    const failedCellBackMs = Date.now() - restarted;
    const back = globalClient(failed);
    const keyspace = await call(back.getKeyspace.bind(back), { name: 'ks' });
    const operations: CellFailureFigures['operations'] = {};
    for (const [kind, entry] of samples) {
      operations[kind] = { attempts: entry.attempts, ok: entry.latencies.length, p99Ms: summarize(entry.latencies).p99 };
    }
    return {
      operations,
      routerStreamErrors,
      registrationsNotSeen,
      failedCellBackMs,
      failedCellCaughtUp: lastKeyspaceWrite !== '' && keyspace.keyspace?.durabilityPolicy === lastKeyspaceWrite,
    };
  } finally {
    for (const stream of routerStreams) stream.cancel();
    for (const closer of closers) closer.close();
    for (const cell of cells) {
      await cell.cellTopo?.stop();
      await cell.replica?.stop();
    }
    for (const cell of cells) await cell.etcd.stop();
    await globalEtcd.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** Takes the shard lock through a Lock stream, writes the shard under its fence, releases it. */
function lockAndWrite(global: GlobalTopoServiceClient, holder: string): Promise<void> {
  return withinDeadline(5000, (ms) =>
    new Promise<void>((resolve, reject) => {
      const stream = global.lock(
        { target: { kind: LockKind.LOCK_KIND_SHARD, keyspace: 'ks', shard: '-80', name: '', path: '' }, holder, action: 'cell failure drill', tryOnly: false },
        new Metadata(),
        { deadline: new Date(Date.now() + ms) },
      );
      stream.on('data', (response: LockResponse) => {
        if (response.event?.$case !== 'granted') return;
        const grant = response.event.value;
        call(
          global.updateShardFields.bind(global),
          {
            keyspace: 'ks',
            name: '-80',
            primaryAlias: undefined,
            clearPrimaryAlias: false,
            primaryTermStartTime: { seconds: String(Math.floor(Date.now() / 1000)), nanoseconds: 0 },
            isPrimaryServing: true,
            version: '0',
            fence: { lockId: grant.lockId, fencingToken: grant.fencingToken },
          },
          Math.max(1, ms - 100),
        ).then(
          () => {
            stream.cancel();
            resolve();
          },
          (err: unknown) => {
            stream.cancel();
            reject(err);
          },
        );
      });
      stream.on('error', (err: ServiceError) => {
        if (err.code !== status.CANCELLED) reject(err);
      });
    }),
  );
}
