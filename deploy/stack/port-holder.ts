import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { findExecutable } from '../etcd/etcd-binary';

/** Who listens on a TCP port: a process id and its command line, when the kernel tells. */
export interface PortHolder {
  pid: number;
  command: string;
}

/** A port the stack needs and what it is for, e.g. `global etcd client`. */
export interface WantedPort {
  port: number;
  what: string;
  /** The variable or flag that moves it, shown in the error. */
  knob?: string;
}

const LISTEN = '0A';
const SS = findExecutable('ss');

/**
 * The process listening on `port` on any address. Reads /proc/net/tcp{,6} for the listening
 * socket's inode and /proc/<pid>/fd for the process that has it open; falls back to
 * `ss -ltnp` (which reads the same, with more privileges where it is setuid). Undefined when
 * neither can tell (another user's process without root, another network namespace).
 */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size > 0) {
    const pid = pidHoldingSocket(inodes);
    if (pid !== undefined) return { pid, command: commandLine(pid) };
  }
  return holderFromSs(port);
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== LISTEN) continue;
      const localPort = parseInt(fields[1].split(':')[1], 16);
      if (localPort === port && fields[9] !== '0') inodes.add(fields[9]);
    }
  }
  return inodes;
}

function pidHoldingSocket(inodes: Set<string>): number | undefined {
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

function commandLine(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return text.length > 200 ? `${text.slice(0, 197)}...` : text;
  } catch {
    return '';
  }
}

function holderFromSs(port: number): PortHolder | undefined {
  if (SS === undefined) return undefined;
  try {
    const out = execFileSync(SS, ['-Hltnp', `sport = :${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const match = /users:\(\("([^"]*)",pid=(\d+)/.exec(out);
    if (!match) return undefined;
    const pid = Number(match[2]);
    return { pid, command: commandLine(pid) || match[1] };
  } catch {
    return undefined;
  }
}

/** Whether nothing listens on `host:port` now: a bind that succeeds, released at once. */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function describeHolder(holder: PortHolder | undefined): string {
  if (holder === undefined) return 'a process this user cannot see (try `ss -ltnp` as root)';
  return `pid ${holder.pid}${holder.command === '' ? '' : ` (${holder.command})`}`;
}

/**
 * Fails, naming every taken port and who holds it, unless all of `ports` are free on
 * `host`. Run before anything starts, so a foreign etcd or a second stack is never used.
 */
export async function assertPortsFree(ports: readonly WantedPort[], host: string): Promise<void> {
  const taken: string[] = [];
  for (const wanted of ports) {
    if (await portIsFree(wanted.port, host)) continue;
    const knob = wanted.knob === undefined ? '' : `; move it with ${wanted.knob}`;
    taken.push(`  ${host}:${wanted.port} (${wanted.what}) is in use by ${describeHolder(portHolder(wanted.port))}${knob}`);
  }
  if (taken.length > 0) {
    throw new Error(
      `${taken.length === 1 ? 'a port' : 'ports'} the stack needs ${taken.length === 1 ? 'is' : 'are'} taken:\n${taken.join('\n')}\n` +
        'Stop what holds it (another `make up`?) or move the stack with the variables shown.',
    );
  }
}
