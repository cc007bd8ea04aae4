/**
 * etcd's own watch-coalescing proxy (`etcd grpc-proxy start`) as a benchmark peer: the same
 * etcd binary the harness runs, in front of the cell's etcd, on free loopback ports. etcd3
 * watchers pointed at it share one etcd watcher per key range.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, resolveEtcdBinary } from '../deploy/etcd/etcd-binary';
import { pickFreePorts } from '../deploy/etcd/free-ports';
import { killOnExit } from './bench-stack';

const SETPRIV = findExecutable('setpriv');
const START_TIMEOUT_MS = 20_000;

export class GrpcProxy {
  private constructor(
    readonly child: ChildProcess,
    /** host:port etcd clients talk to. */
    readonly endpoint: string,
    /** Where the proxy serves Prometheus metrics. */
    readonly metricsUrl: string,
    private readonly exited: Promise<void>,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** A proxy for the etcd at `etcdEndpoints`, its log and data dir under `dir`. */
  static async start(etcdEndpoints: string[], dir: string, name: string): Promise<GrpcProxy> {
    const [listenPort, metricsPort] = await pickFreePorts(2, '127.0.0.1');
    const dataDir = join(dir, `${name}.data`);
    mkdirSync(dataDir, { recursive: true });
    const proxy = [
      resolveEtcdBinary(),
      'grpc-proxy',
      'start',
      `--endpoints=${etcdEndpoints.join(',')}`,
      `--listen-addr=127.0.0.1:${listenPort}`,
      `--advertise-client-url=127.0.0.1:${listenPort}`,
      `--metrics-addr=http://127.0.0.1:${metricsPort}`,
      `--data-dir=${dataDir}`,
    ];
    // As for etcd and the services: the kernel ends the proxy if the benchmark dies, even by SIGKILL.
    const command = SETPRIV === undefined ? proxy : [SETPRIV, '--pdeathsig', 'KILL', '--', ...proxy];
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    const logFile = join(dir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const started = new GrpcProxy(child, `127.0.0.1:${listenPort}`, metricsUrl, exited);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let gone = false;
    void exited.then(() => (gone = true));
    // Ready once it answers /metrics: it has dialled etcd and listens on both ports by then.
    for (;;) {
      if (gone) throw new Error(`etcd grpc-proxy exited at start; see ${logFile}`);
      try {
        if ((await fetch(`${metricsUrl}/metrics`)).ok) return started;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`etcd grpc-proxy did not answer on ${metricsUrl} within ${START_TIMEOUT_MS} ms; see ${logFile}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The proxy's count of client watchers and of the etcd watchers they were folded into. */
  async watchers(): Promise<{ watchers: number; coalescing: number }> {
    const text = await (await fetch(`${this.metricsUrl}/metrics`)).text();
    const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { watchers: gauge('etcd_grpc_proxy_watchers_coalescing_total'), coalescing: gauge('etcd_grpc_proxy_events_coalescing_total') };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
