import type { EtcdMember } from '../etcd';
import { readLogTail } from '../etcd/log-tail';
import type { ServiceProcess } from './service-process';

export interface SupervisorOptions {
  /** First restart delay; doubled after each restart that did not stay up. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A process up this long is healthy again: its next failure starts from minBackoffMs. */
  healthyAfterMs?: number;
  /** Consecutive failures (died soon after start, or could not start) before giving up. */
  maxFailures?: number;
  /** How often etcd members are checked; a member has no exit event of its own here. */
  pollMs?: number;
}

interface Watched {
  name: string;
  failures: number;
  backoffMs: number;
}

const indent = (text: string): string => text.split('\n').map((l) => `    ${l}`).join('\n');

/**
 * Keeps the stack's processes running: a service or etcd member that dies is reported at
 * once with the cause from its log, and restarted after a backoff that doubles while
 * restarts keep failing. After `maxFailures` in a row it gives up and calls `onGiveUp`,
 * which stops the stack: a stack that cannot keep a part up must not pretend to be up.
 */
export class Supervisor {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly services = new Map<string, ServiceProcess>();
  private readonly options: Required<SupervisorOptions>;

  constructor(
    private readonly log: (message: string) => void,
    private readonly onGiveUp: (reason: string) => void,
    options: SupervisorOptions = {},
  ) {
    this.options = {
      minBackoffMs: options.minBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      healthyAfterMs: options.healthyAfterMs ?? 30_000,
      maxFailures: options.maxFailures ?? 5,
      pollMs: options.pollMs ?? 500,
    };
  }

  /** Starts a service and keeps it running; `start` is called again for each restart. */
  async service(name: string, start: () => Promise<ServiceProcess>): Promise<ServiceProcess> {
    const proc = await start();
    this.follow({ name, failures: 0, backoffMs: this.options.minBackoffMs }, proc, start);
    return proc;
  }

  /** Keeps an already started etcd member running; `verify` runs after each restart. */
  etcd(name: string, member: EtcdMember, verify: (member: EtcdMember) => Promise<unknown>): void {
    const watched: Watched = { name, failures: 0, backoffMs: this.options.minBackoffMs };
    let upSince = Date.now();
    const check = (): void => {
      if (this.stopped) return;
      if (member.running) {
        if (Date.now() - upSince >= this.options.healthyAfterMs) this.healthy(watched);
        this.later(check, this.options.pollMs);
        return;
      }
      this.log(`${name} died; last lines of ${member.logFile}:\n${indent(readLogTail(member.logFile))}`);
      this.retry(watched, async () => {
        await member.restart();
        await verify(member);
        upSince = Date.now();
        this.later(check, this.options.pollMs);
      });
    };
    this.later(check, this.options.pollMs);
  }

  /** The process now running under `name`, after any restarts. */
  current(name: string): ServiceProcess | undefined {
    return this.services.get(name);
  }

  /** No more restarts; the caller stops the processes. */
  stop(): ServiceProcess[] {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    return [...this.services.values()];
  }

  private follow(watched: Watched, proc: ServiceProcess, start: () => Promise<ServiceProcess>): void {
    this.services.set(watched.name, proc);
    const healthyTimer = this.later(() => this.healthy(watched), this.options.healthyAfterMs);
    void proc.exited.then((status) => {
      clearTimeout(healthyTimer);
      this.timers.delete(healthyTimer);
      if (this.stopped) return;
      const ranFor = ((Date.now() - proc.startedAt) / 1000).toFixed(1);
      this.log(`${watched.name} exited (${status}) after ${ranFor} s; last lines of ${proc.logFile}:\n${proc.tail()}`);
      this.retry(watched, async () => {
        const next = await start();
        if (this.stopped) {
          await next.stop();
          return;
        }
        this.follow(watched, next, start);
      });
    });
  }

  private healthy(watched: Watched): void {
    watched.failures = 0;
    watched.backoffMs = this.options.minBackoffMs;
  }

  private retry(watched: Watched, restart: () => Promise<void>): void {
    watched.failures++;
    if (watched.failures > this.options.maxFailures) {
      this.onGiveUp(`${watched.name} failed ${this.options.maxFailures} times in a row`);
      return;
    }
    const delay = watched.backoffMs;
    watched.backoffMs = Math.min(this.options.maxBackoffMs, watched.backoffMs * 2);
    this.log(`restarting ${watched.name} in ${(delay / 1000).toFixed(1)} s (restart ${watched.failures} of at most ${this.options.maxFailures} in a row)`);
    this.later(() => {
      if (this.stopped) return;
      restart().then(
        () => {
          if (!this.stopped) this.log(`${watched.name} restarted`);
        },
        (err: unknown) => {
          if (this.stopped) return;
          this.log(`${watched.name} did not restart: ${err instanceof Error ? err.message : String(err)}`);
          this.retry(watched, restart);
        },
      );
    }, delay);
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }
}
