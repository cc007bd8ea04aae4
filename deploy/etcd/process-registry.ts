import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type TerminatingSignal = (typeof TERMINATING_SIGNALS)[number];

/**
 * Every etcd process this Node process spawned and has not yet seen exit, and every
 * throwaway data dir not yet removed. It is the backstop for a script or `make up` that
 * dies without calling stop(): on 'exit' and on SIGINT/SIGTERM the processes get SIGKILL
 * and the throwaway dirs are deleted, synchronously, because nothing asynchronous runs
 * after 'exit'.
 *
 * Jest gives each test file its own copy of `process` whose events never fire, so under
 * jest the backstop is PDEATHSIG (see etcd-member.ts) plus the afterAll of the jest helper.
 *
 * Hooks are installed only while something is tracked, so importing this module costs
 * nothing and repeated clusters do not pile up listeners.
 */
class ProcessRegistry {
  private readonly children = new Set<ChildProcess>();
  private readonly tempDirs = new Set<string>();
  private hooked = false;

  add(child: ChildProcess): void {
    this.children.add(child);
    this.updateHooks();
  }

  remove(child: ChildProcess): void {
    this.children.delete(child);
    this.updateHooks();
  }

  addTempDir(dir: string): void {
    this.tempDirs.add(dir);
    this.updateHooks();
  }

  removeTempDir(dir: string): void {
    this.tempDirs.delete(dir);
    this.updateHooks();
  }

  cleanUpSync(): void {
    for (const child of this.children) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        // SIGKILL also ends a SIGSTOPped process, so paused members need no SIGCONT here.
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const dir of this.tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Best effort: a dying etcd may still be closing files in it.
      }
    }
  }

  private readonly onExit = (): void => this.cleanUpSync();

  private readonly onSignal = (signal: TerminatingSignal): void => {
    // Whoever else listens (the CLI) owns an orderly shutdown; 'exit' remains the backstop.
    if (process.listenerCount(signal) > 1) return;
    this.cleanUpSync();
    this.setHooks(false);
    // Listening replaced Node's default of dying on the signal; restore that outcome.
    process.kill(process.pid, signal);
  };

  private updateHooks(): void {
    this.setHooks(this.children.size > 0 || this.tempDirs.size > 0);
  }

  private setHooks(wanted: boolean): void {
    if (wanted === this.hooked) return;
    this.hooked = wanted;
    const method = wanted ? 'on' : 'off';
    process[method]('exit', this.onExit);
    for (const signal of TERMINATING_SIGNALS) process[method](signal, this.onSignal);
  }
}

export const etcdProcesses = new ProcessRegistry();
