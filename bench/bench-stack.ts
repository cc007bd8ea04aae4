/**
 * The stack the watch and registration benchmarks run against, every part a real process:
 * a global etcd and a cell etcd (the deploy/etcd harness), global-topo holding one
 * keyspace with evenly split shards, and cell-topo, started and stopped at will so each
 * measurement gets a fresh process. Whatever this module starts is killed when the
 * benchmark process exits, however it exits.
 */
import type { ChildProcess } from 'node:child_process';
import { credentials, status } from '@grpc/grpc-js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdCluster } from '../deploy/etcd';
import { ServiceProcess } from '../deploy/stack/service-process';
import { unaryCall } from '../libs/client';
import { GlobalTopoServiceClient } from '../libs/proto/gen/topo/global/v1/global';

const ROOT = join(__dirname, '..');

/** Children SIGKILLed on exit, synchronously: nothing asynchronous runs after 'exit'. */
const children = new Set<ChildProcess>();
let exitHooked = false;
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** `count` shards covering the whole key range, e.g. 4: -40, 40-80, 80-c0, c0-. */
export function evenShards(count: number): string[] {
  if (![1, 2, 4, 8, 16, 32, 64, 128, 256].includes(count)) throw new Error(`shard count must be a power of 2 up to 256, got ${count}`);
  if (count === 1) return ['-'];
  const bound = (i: number): string => (i === 0 || i === count ? '' : ((i * 256) / count).toString(16).padStart(2, '0'));
  return Array.from({ length: count }, (_, i) => `${bound(i)}-${bound(i + 1)}`);
}

export interface BenchStackOptions {
  cell: string;
  keyspace: string;
  shards: string[];
}

export class BenchStack {
  readonly cellRoot: string;
  private cellTopo: ServiceProcess | undefined;
  private cellTopoStarts = 0;

  private constructor(
    readonly options: BenchStackOptions,
    readonly logDir: string,
    readonly globalEtcd: EtcdCluster,
    readonly cellEtcd: EtcdCluster,
    private readonly globalTopo: ServiceProcess,
  ) {
    this.cellRoot = `/topo/${options.cell}`;
  }

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const logDir = mkdtempSync(join(tmpdir(), 'topo-bench-'));
    const started: Array<{ stop(): Promise<void> }> = [];
    try {
      const globalEtcd = await EtcdCluster.start({ members: 1 });
      started.push(globalEtcd);
      const cellEtcd = await EtcdCluster.start({ members: 1 });
      started.push(cellEtcd);
      const globalTopo = await startService('global-topo', logDir, [
        '--etcd-endpoints',
        globalEtcd.endpoints.join(','),
        '--root',
        '/topo/global',
      ]);
      started.push(globalTopo);
      const client = new GlobalTopoServiceClient(`127.0.0.1:${globalTopo.port}`, credentials.createInsecure());
      try {
        await unaryCall(client.createKeyspace.bind(client), { name: options.keyspace });
        for (const shard of options.shards) await unaryCall(client.createShard.bind(client), { keyspace: options.keyspace, name: shard });
      } finally {
        client.close();
      }
      return new BenchStack(options, logDir, globalEtcd, cellEtcd, globalTopo);
    } catch (err) {
      for (const part of started.reverse()) await part.stop().catch(() => undefined);
      throw new Error(`the benchmark stack did not start (logs in ${logDir}): ${(err as Error).message}`, { cause: err });
    }
  }

  get globalAddress(): string {
    return `127.0.0.1:${this.globalTopo.port}`;
  }

  get cellEtcdPid(): number {
    const pid = this.cellEtcd.members[0].pid;
    if (pid === undefined) throw new Error('cell etcd is not running');
    return pid;
  }

  /** Every process of the stack now running, for CPU accounting. */
  get pids(): number[] {
    const pids = [this.globalEtcd.members[0].pid, this.cellEtcd.members[0].pid, this.globalTopo.child.pid, this.cellTopo?.child.pid];
    return pids.filter((pid): pid is number => pid !== undefined);
  }

  /** A fresh cell-topo process; the previous one, if any, is stopped first. */
  async startCellTopo(): Promise<{ address: string; pid: number }> {
    await this.stopCellTopo();
    this.cellTopoStarts++;
    this.cellTopo = await startService(`cell-topo-${this.cellTopoStarts}`, this.logDir, [
      '--cell',
      this.options.cell,
      '--global-topo',
      this.globalAddress,
      '--etcd-endpoints',
      this.cellEtcd.endpoints.join(','),
      '--root',
      this.cellRoot,
    ]);
    return { address: `127.0.0.1:${this.cellTopo.port}`, pid: this.cellTopo.child.pid! };
  }

  async stopCellTopo(): Promise<void> {
    await this.cellTopo?.stop();
    this.cellTopo = undefined;
  }

  /** Stops everything; the logs are removed unless asked to keep them (after a failure). */
  async stop(keepLogs: boolean): Promise<void> {
    await this.stopCellTopo();
    await this.globalTopo.stop();
    await this.cellEtcd.stop();
    await this.globalEtcd.stop();
    if (!keepLogs) rmSync(this.logDir, { recursive: true, force: true });
  }
}

async function startService(name: string, logDir: string, args: string[]): Promise<ServiceProcess> {
  const program = name.startsWith('cell-topo') ? 'cell-topo' : 'global-topo';
  const main = join(ROOT, 'services', program, 'main.ts');
  try {
    const service = await ServiceProcess.start({ main, args: [...args, '--listen', '127.0.0.1:0'], logFile: join(logDir, `${name}.log`) });
    killOnExit(service.child);
    return service;
  } catch (err) {
    killChildrenRunning(main);
    throw err;
  }
}

/** ServiceProcess does not hand back a child that failed to start in time: find it by parent pid. */
function killChildrenRunning(main: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(main)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Retries a call the service refuses with UNAVAILABLE while it is still catching up (cell-topo's global view). */
export async function whenAvailable<T>(call: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: number }).code !== status.UNAVAILABLE || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
