/**
 * Several processes serving one listening port (`--workers N`), so a service uses every
 * core: Node's cluster module hands each worker's `listen` the primary's socket and
 * spreads connections over the workers. Every worker is a whole service with its own
 * store client and watch hub, so etcd sees N watches per watched prefix, still
 * independent of the number of subscribers; a client that reconnects to another worker
 * resumes there exactly (the hub replays from its history, or skips what it delivers
 * below a resume point it has not reached yet).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError } from './config';
import type { Logger } from './logger';

const MIN_RESTART_MS = 100;
const MAX_RESTART_MS = 5000;
/** A worker that ran this long before dying restarts at once (its backoff is reset). */
const HEALTHY_RUN_MS = 30_000;

/** `--workers`: a whole number of processes from 1 to 64, or 'auto' for the machine's cores. */
export function parseWorkers(raw: string | undefined, flag = '--workers'): number {
  if (raw === undefined || raw === '') return 1;
  if (raw === 'auto') return availableParallelism();
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new ConfigError(`${flag} must be a whole number from 1 to 64 or 'auto', got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** True in a process that should supervise workers rather than serve. */
export function isWorkerPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/** The worker's number (1..N) when this process is a worker, for its log lines. */
export function workerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/**
 * The primary: starts `count` workers running this same program with the same arguments,
 * restarts one that dies (backoff from 100 ms to 5 s, reset after a healthy run), and on
 * SIGTERM or SIGINT passes the signal on and exits once every worker has, or after
 * `graceMs` plus a margin by killing the rest.
 */
export function superviseWorkers(options: { count: number; log: Logger; graceMs: number }): void {
  const { count, log, graceMs } = options;
  let stopping = false;
  const startedAt = new Map<Worker, number>();
  const backoff = new Map<number, number>();

  const fork = (slot: number): void => {
    const worker = cluster.fork({ TOPO_WORKER_SLOT: String(slot) });
    startedAt.set(worker, Date.now());
    worker.on('exit', (code, signal) => {
      const ranMs = Date.now() - (startedAt.get(worker) ?? Date.now());
      startedAt.delete(worker);
      if (stopping) {
        if (startedAt.size === 0) process.exit(0);
        return;
      }
      const previous = ranMs >= HEALTHY_RUN_MS ? 0 : (backoff.get(slot) ?? 0);
      const delay = previous === 0 ? MIN_RESTART_MS : Math.min(MAX_RESTART_MS, previous * 2);
      backoff.set(slot, delay);
      log.warn('worker exited; restarting', { slot, pid: worker.process.pid, code, signal, ranMs, restartInMs: delay });
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delay).unref();
    });
  };

  for (let slot = 1; slot <= count; slot++) fork(slot);
  log.info('supervising workers', { workers: count, pid: process.pid });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('signal received; stopping workers', { signal, workers: startedAt.size });
    for (const worker of startedAt.keys()) worker.process.kill(signal);
    if (startedAt.size === 0) process.exit(0);
    setTimeout(() => {
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, graceMs + 5000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
