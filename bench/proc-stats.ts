/** What the benchmarks read about other processes: Linux /proc and etcd's Prometheus metrics. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

let ticks: number | undefined;
function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft limit on open files of a process. */
export function fdLimit(pid: number): string {
  const match = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match ? match[1] : 'unknown';
}

/** CPU use of a set of processes between two points, as a percentage of one core. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = process.hrtime.bigint();

  constructor(private readonly pids: number[]) {
    this.startCpu = this.total();
  }

  private total(): number {
    return this.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  }

  /** CPU seconds used since the meter started. */
  seconds(): number {
    return this.total() - this.startCpu;
  }

  percentOfOneCore(): number {
    const wallSeconds = Number(process.hrtime.bigint() - this.startWall) / 1e9;
    return (100 * this.seconds()) / wallSeconds;
  }
}

/** Busy CPU seconds of the whole machine so far, from /proc/stat (user through steal). */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond();
}

/**
 * CPU the machine spent outside the given processes between two points, as a percentage of
 * one core: the benchmark's noise floor on a shared machine.
 */
export class OtherCpuMeter {
  private readonly own: CpuMeter;
  private readonly startBusy = machineBusySeconds();
  private readonly startWall = process.hrtime.bigint();

  constructor(pids: number[]) {
    this.own = new CpuMeter(pids);
  }

  percentOfOneCore(): number {
    const wallSeconds = Number(process.hrtime.bigint() - this.startWall) / 1e9;
    const machine = (100 * (machineBusySeconds() - this.startBusy)) / wallSeconds;
    return Math.max(0, machine - this.own.percentOfOneCore());
  }
}

export interface EtcdWatchGauges {
  watchers: number;
  watchStreams: number;
  slowWatchers: number;
}

/** etcd 3.4 serves Prometheus metrics on its client URL when no metrics URL is set. */
export async function etcdWatchGauges(clientUrl: string): Promise<EtcdWatchGauges> {
  const response = await fetch(`${clientUrl}/metrics`);
  if (!response.ok) throw new Error(`${clientUrl}/metrics answered ${response.status}`);
  const text = await response.text();
  const gauge = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`${clientUrl}/metrics has no ${name}`);
    return Number(match[1]);
  };
  return {
    watchers: gauge('etcd_debugging_mvcc_watcher_total'),
    watchStreams: gauge('etcd_debugging_mvcc_watch_stream_total'),
    slowWatchers: gauge('etcd_debugging_mvcc_slow_watcher_total'),
  };
}
