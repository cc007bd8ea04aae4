import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { findExecutable } from '../etcd/etcd-binary';

const SETPRIV = findExecutable('setpriv');

export interface ServiceProcessOptions {
  /** Entry file of the service, e.g. services/global-topo/main.ts. */
  main: string;
  args: string[];
  /** Service log (JSON lines) goes here. */
  logFile: string;
  startTimeoutMs?: number;
}

/**
 * One service process of the local stack. It is started from its TypeScript entry with
 * ts-node (no build step), is ready once it logs "serving", and is stopped with SIGTERM so
 * it releases what it holds in etcd.
 */
export class ServiceProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    private readonly exited: Promise<number | null>,
  ) {}

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const node = [process.execPath, '-r', 'ts-node/register/transpile-only', options.main, ...options.args];
    // As for etcd: the kernel ends the service if whoever started it dies, even by SIGKILL.
    const command = SETPRIV === undefined ? node : [SETPRIV, '--pdeathsig', 'KILL', '--', ...node];
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stderr?.pipe(log);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.main} did not start within ${options.startTimeoutMs ?? 30_000} ms; see ${options.logFile}`)),
        options.startTimeoutMs ?? 30_000,
      );
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
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${options.main} exited with code ${code}; see ${options.logFile}`));
      });
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return new ServiceProcess(child, port, exited);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
