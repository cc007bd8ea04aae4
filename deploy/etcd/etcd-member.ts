import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { findExecutable } from './etcd-binary';
import type { EtcdTlsFiles } from './cluster-options';
import { probeHealth } from './health-probe';
import { readLogTail, RUN_MARKER } from './log-tail';
import { etcdProcesses } from './process-registry';

export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:port */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The process id while the member runs, else undefined. */
  readonly pid: number | undefined;
  /** True from spawn until the process exits; a paused member is still running. */
  readonly running: boolean;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** SIGTERM and wait for exit (SIGCONT first if paused; SIGKILL if it hangs). */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the member holds its sockets open but answers nothing. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Start again with the same data dir and ports and wait until healthy. */
  restart(): Promise<void>;
}

export interface MemberSpec {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly startTimeoutMs: number;
  readonly tls?: EtcdTlsFiles;
}

/** A member process exited while it was expected to run; carries its last log lines. */
export class EtcdMemberExitedError extends Error {
  constructor(
    readonly memberName: string,
    readonly exitStatus: string,
    readonly logTail: string,
  ) {
    super(`etcd member ${memberName} exited (${exitStatus}); last log lines:\n${logTail}`);
    this.name = 'EtcdMemberExitedError';
  }
}

const STOP_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;

// setpriv (util-linux) sets PR_SET_PDEATHSIG before exec'ing etcd, so the kernel kills
// etcd when this Node process dies, even by SIGKILL, where no exit hook can run.
const SETPRIV = findExecutable('setpriv');

export class EtcdMemberProcess implements EtcdMember {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private lastExit = 'not started';
  private isPaused = false;
  /** Whether the caller wants this member up, so an exit counts as a failure. */
  private expectedUp = false;

  constructor(private readonly spec: MemberSpec) {}

  get name(): string {
    return this.spec.name;
  }
  get clientUrl(): string {
    return this.spec.clientUrl;
  }
  get peerUrl(): string {
    return this.spec.peerUrl;
  }
  get dataDir(): string {
    return this.spec.dataDir;
  }
  get logFile(): string {
    return this.spec.logFile;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined;
  }
  get paused(): boolean {
    return this.isPaused;
  }
  get shouldBeRunning(): boolean {
    return this.expectedUp;
  }

  /** Spawns the process; does not wait for health. */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error(`etcd member ${this.name} is already running`);
    const child = this.spawnProcess();
    // A running member does not keep Node alive on its own: a test that forgets stop() must
    // not hang jest. The registry's exit hook and PDEATHSIG still end the process.
    child.unref();
    this.expectedUp = true;
    this.child = child;
    this.isPaused = false;
    etcdProcesses.add(child);
    this.exited = new Promise((resolve) => {
      const onGone = (status: string): void => {
        this.lastExit = status;
        this.child = undefined;
        this.isPaused = false;
        etcdProcesses.remove(child);
        resolve();
      };
      child.once('exit', (code, signal) =>
        onGone(signal !== null ? `signal ${signal}` : `exit code ${code}`),
      );
      // 'error' without a listener would crash the parent; before 'spawn' it means no process.
      child.on('error', (error) => {
        if (child.pid === undefined) onGone(`spawn failed: ${error.message}`);
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      this.expectedUp = false;
      throw error;
    }
  }

  /** Polls /health until it answers healthy; fails at once if the process exits. */
  async waitHealthy(timeoutMs: number = this.spec.startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child === undefined) {
        throw new EtcdMemberExitedError(this.name, this.lastExit, readLogTail(this.logFile));
      }
      const remaining = deadline - Date.now();
      if (await probeHealth(this.clientUrl, Math.max(1, Math.min(PROBE_TIMEOUT_MS, remaining)), this.spec.tls)) {
        return;
      }
      if (Date.now() >= deadline) {
        const state = this.isPaused ? ' (it is paused)' : '';
        throw new Error(
          `etcd member ${this.name} at ${this.clientUrl} not healthy after ${timeoutMs} ms` +
            `${state}; last log lines:\n${readLogTail(this.logFile)}`,
        );
      }
      await settlesWithin(this.exited, POLL_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    this.expectedUp = false;
    const child = this.child;
    if (child === undefined) return;
    // Without a ref Node could exit before the 'exit' event we are waiting for.
    child.ref();
    // A stopped process keeps SIGTERM pending until continued; resume so it can shut down.
    this.resume();
    child.kill('SIGTERM');
    if (!(await settlesWithin(this.exited, STOP_GRACE_MS))) await this.kill();
  }

  async kill(): Promise<void> {
    this.expectedUp = false;
    const child = this.child;
    if (child === undefined) return;
    child.ref();
    child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    if (this.child === undefined) throw new Error(`etcd member ${this.name} is not running`);
    this.child.kill('SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    if (this.child === undefined || !this.isPaused) return;
    this.child.kill('SIGCONT');
    this.isPaused = false;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
    try {
      await this.waitHealthy();
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  private spawnProcess(): ChildProcess {
    const log = openSync(this.logFile, 'a');
    try {
      const commandLine = [this.spec.binary, ...this.spec.args].join(' ');
      writeSync(log, `${RUN_MARKER}${new Date().toISOString()} ${this.name}: ${commandLine}\n`);
      const [command, args] =
        SETPRIV === undefined
          ? [this.spec.binary, this.spec.args]
          : [SETPRIV, ['--pdeathsig', 'KILL', '--', this.spec.binary, ...this.spec.args]];
      return spawn(command, args, { stdio: ['ignore', log, log], env: etcdFreeEnv() });
    } finally {
      // The child holds its own copy of the descriptor from here on.
      closeSync(log);
    }
  }
}

/** The parent's environment minus ETCD_*, which etcd would read as flags. */
function etcdFreeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('ETCD_')),
  );
}

/** Whether `promise` settles within `ms`; the timer is cleared so it never holds the process. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
