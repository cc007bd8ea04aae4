import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { findExecutable } from '../etcd/etcd-binary';

const SETPRIV = findExecutable('setpriv');
const TAIL_LINES = 12;
const TAIL_BYTES = 32 * 1024;

export interface ServiceProcessOptions {
  /** Entry file of the service, e.g. services/global-topo/main.ts. */
  main: string;
  args: string[];
  /** Service log (JSON lines) goes here. */
  logFile: string;
  startTimeoutMs?: number;
}

/** How a process ended: `exit code 1`, `signal SIGTERM`. */
export type ExitStatus = string;

/**
 * One service process of the local stack. It is started from its TypeScript entry with
 * ts-node (no build step), is ready once it logs "serving", and is stopped with SIGTERM so
 * it releases what it holds in etcd. A start that fails says why with the last lines its
 * launch wrote to the log, rather than pointing at the file.
 */
export class ServiceProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
    /** Where this launch's output starts in the log file. */
    private readonly logOffset: number,
    /** Resolves once the process is gone, with how it ended. */
    readonly exited: Promise<ExitStatus>,
    readonly startedAt: number,
  ) {}

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const node = [process.execPath, '-r', 'ts-node/register/transpile-only', options.main, ...options.args];
    // As for etcd: the kernel ends the service if whoever started it dies, even by SIGKILL.
    const command = SETPRIV === undefined ? node : [SETPRIV, '--pdeathsig', 'KILL', '--', ...node];
    const logOffset = sizeOf(options.logFile);
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stderr?.pipe(log);
    const exited = new Promise<ExitStatus>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal !== null ? `signal ${signal}` : `exit code ${code}`)),
    );
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not log "serving" within ${timeoutMs} ms`)), timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(`${line}\n`);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'serving' && entry.port) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // Not a log line of ours; it is still kept in the log file.
        }
      });
      void exited.then((status) => {
        clearTimeout(timer);
        reject(new Error(`exited (${status})`));
      });
    }).catch(async (err: unknown) => {
      child.kill('SIGKILL');
      await exited;
      await new Promise((resolve) => log.end(resolve));
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${options.main} ${why}; last lines of ${options.logFile}:\n${logTail(options.logFile, logOffset)}`);
    });
    return new ServiceProcess(child, port, options.logFile, logOffset, exited, Date.now());
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What this launch last wrote to its log, indented for the terminal. */
  tail(): string {
    return logTail(this.logFile, this.logOffset);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last lines written to `path` since `offset`, each indented. */
export function logTail(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return `    (no log at ${path})`;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(offset, size - TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').trimEnd().split('\n').filter((l) => l !== '');
    if (lines.length === 0) return '    (nothing logged)';
    return lines.slice(-TAIL_LINES).map((l) => `    ${l.length > 400 ? `${l.slice(0, 397)}...` : l}`).join('\n');
  } finally {
    closeSync(fd);
  }
}
