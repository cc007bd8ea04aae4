import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { EtcdCluster } from '../etcd';
import { pickFreePorts } from '../etcd/free-ports';
import { grpcurl } from '../../libs/testing/grpcurl';
import { until } from '../../libs/testing/until';

const repo = join(__dirname, '..', '..');

/** Every process whose command line mentions `text` (the stack's data dir or ports). */
function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter((line) => line !== '' && !line.includes('pgrep'));
  } catch {
    return [];
  }
}

const pidOf = (pattern: string): number => Number(execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n')[0]);

/** PATH without any directory that holds a `go`: the stack must come up without Go. */
function pathWithoutGo(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => {
      try {
        accessSync(join(dir, 'go'), constants.X_OK);
        return false;
      } catch {
        return true;
      }
    })
    .join(delimiter);
}

/** Runs a command in its own process group, so `interrupt()` is Ctrl-C in a terminal. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(command, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs: number): Promise<void> =>
    lines.some((l) => pattern.test(l))
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${command} never printed ${pattern}:\n${lines.join('\n')}`)), timeoutMs);
          waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        });
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  return { child, lines, exited, waitFor, interrupt: () => signal('SIGINT'), kill: () => signal('SIGKILL') };
}

const node = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['-r', 'ts-node/register/transpile-only', join(repo, script), ...args], env);

const UP = /\[up\] up; .*Ctrl-C stops everything/;

describe.each(['memory', 'etcd'])('the local stack with the %s backend', (backend) => {
  it('comes up, runs the demo, restarts a service that dies, and leaves nothing running after Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `topo-up-${backend}-`));
    const base = 31000 + ((process.pid * 7 + (backend === 'etcd' ? 500 : 0)) % 3000);
    // The memory stack goes through `make up` as a user types it, with no Go anywhere it
    // could be found: the stack needs neither Go nor grpcurl.
    const up =
      backend === 'memory'
        ? run('make', ['-s', 'up', `BACKEND=memory`, `DATA_DIR=${dataDir}`, `GLOBAL_TOPO_PORT=${base}`], {
            PATH: pathWithoutGo(),
            GO: join(dataDir, 'no-go-here'),
          })
        : node('deploy/stack/up.ts', ['--data-dir', dataDir, '--global-port', String(base + 5000), '--global-topo-port', String(base), '--restart-backoff-ms', '200']);
    try {
      await up.waitFor(UP, 120_000);
      expect(up.lines.join('\n')).toContain(`cell-topo zone1:      127.0.0.1:${base + 1}`);
      const demo = node('deploy/stack/demo.ts', ['--global', `127.0.0.1:${base}`, '--duration', '6', '--churn-ms', '700', '--tablets-per-cell', '2']);
      expect(await demo.exited).toBe(0);
      const output = demo.lines.join('\n');
      expect(output).toContain('[demo] 4 tablets registered in zone1, zone2');
      expect(output).toMatch(/\[router zone1\] zone1-0000001000 +PRIMARY +commerce\/-80 +alive/);
      // One primary per shard, in the first cell only; a first registration reads alive at once.
      expect(output).not.toMatch(/\[router zone2\] \S+ +PRIMARY/);
      expect(output).toMatch(/\[router zone2\] .* (not alive|removed)/);
      expect(output).toMatch(/\[demo\] (stopping|starting) tablet zone[12]-000000100[01]( again)?$/m);
      expect(demo.lines.find((l) => l.includes('[router zone1] zone1-0000001000'))).toMatch(/ alive /);
      expect(processesMentioning(dataDir).length).toBeGreaterThan(0);

      // What the stack prints to paste works: topoctl and grpcurl against it.
      const topoctl = (...args: string[]): string =>
        execFileSync(join(repo, 'bin', 'topoctl'), ['--global', `127.0.0.1:${base}`, ...args], { encoding: 'utf8' });
      expect(topoctl('health')).toMatch(/zone2 +127\.0\.0\.1:\d+ +topo\.cell\.v1\.CellTopoService +SERVING/);
      expect(topoctl('keyspaces', 'list')).toContain('commerce');
      const listed = await grpcurl(`127.0.0.1:${base}`, ['list']);
      expect(listed.stdout).toContain('topo.global.v1.GlobalTopoService');

      if (backend === 'memory') {
        // A cell-topo that dies is reported at once, with its log, and restarted.
        process.kill(pidOf(`cell-topo/main.ts.*--listen 127.0.0.1:${base + 1}`), 'SIGTERM');
        await up.waitFor(/\[up\] cell-topo zone1 exited \(.*\) after [\d.]+ s; last lines of .*cell-topo-zone1\.log/, 5_000);
        await up.waitFor(/\[up\] cell-topo zone1 restarted/, 30_000);
        // Serving again once it has caught up with the global topology.
        await until('zone1 serving again', () => {
          try {
            return /zone1 +127\.0\.0\.1:\d+ +topo\.cell\.v1\.CellTopoService +SERVING/.test(topoctl('health', '--cell', 'zone1'));
          } catch {
            return false;
          }
        }, 20_000);
      } else {
        // An etcd member that dies is reported with its log, restarted and checked again.
        expect(up.lines.join('\n')).toMatch(/zone2 etcd: +http:\/\/127\.0\.0\.1:\d+ +member [0-9a-f]{16} .*\(logs .*etcd-0\.log\)/);
        process.kill(pidOf(`etcd --name=etcd-0 --data-dir=${dataDir}/etcd-zone2/`), 'SIGKILL');
        await up.waitFor(/\[up\] zone2 etcd died; last lines of/, 5_000);
        await up.waitFor(/\[up\] zone2 etcd restarted/, 30_000);
      }

      up.interrupt();
      await up.exited;
      expect(up.lines).toContain('[up] stopped');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(processesMentioning(dataDir)).toEqual([]);
      expect(processesMentioning(`127.0.0.1:${base + 1}`)).toEqual([]);
    } finally {
      up.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('the local stack and etcd it did not start', () => {
  it('refuses a port held by another etcd, naming the port and its holder, and writes nothing into it', async () => {
    const foreign = await EtcdCluster.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'topo-up-foreign-'));
    try {
      const port = Number(new URL(foreign.endpoints[0]).port);
      const [topoPort] = await pickFreePorts(1, '127.0.0.1');
      const up = node('deploy/stack/up.ts', ['--data-dir', dataDir, '--global-port', String(port), '--global-topo-port', String(topoPort), '--cells', 'zone1']);
      expect(await up.exited).toBe(1);
      const said = up.lines.join('\n');
      expect(said).toContain(`127.0.0.1:${port} (global etcd client) is in use by pid ${foreign.members[0].pid} (`);
      expect(said).toMatch(/etcd --name=etcd-0/);
      expect(said).toContain('GLOBAL_ETCD_PORT');
      expect(said).not.toContain('[up] up;');
      const keys = await fetch(`${foreign.endpoints[0]}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from('\0').toString('base64'), range_end: Buffer.from('\0').toString('base64'), count_only: true }),
      });
      expect(((await keys.json()) as { count?: string }).count ?? '0').toBe('0');
    } finally {
      await foreign.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('TLS=1', () => {
  it('puts every process on mTLS with a throwaway CA; the demo, topoctl and grpcurl use its certificates', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'topo-up-tls-'));
    const base = 34500 + ((process.pid * 7) % 2000);
    const up = node('deploy/stack/up.ts', ['--data-dir', dataDir, '--global-port', String(base + 5000), '--global-topo-port', String(base)], {
      BACKEND: 'etcd',
      TLS: '1',
    });
    try {
      await up.waitFor(UP, 90_000);
      const printed = up.lines.join('\n');
      const exported = /export TOPO_GRPC_CA=(\S+) TOPO_GRPC_CERT=(\S+) TOPO_GRPC_KEY=(\S+)/.exec(printed);
      expect(exported).not.toBeNull();
      const [, ca, cert, key] = exported!;
      expect(printed).toContain(`-cacert ${ca} -cert ${cert} -key ${key} 127.0.0.1:${base} list`);

      const demo = node('deploy/stack/demo.ts', ['--global', `127.0.0.1:${base}`, '--duration', '4', '--churn-ms', '700', '--tablets-per-cell', '2'], {
        TLS: '1',
        DATA_DIR: dataDir,
      });
      expect(await demo.exited).toBe(0);
      expect(demo.lines.join('\n')).toContain('[demo] 4 tablets registered in zone1, zone2');

      const env = { ...process.env, TOPO_GRPC_CA: ca, TOPO_GRPC_CERT: cert, TOPO_GRPC_KEY: key };
      const topoctl = (...args: string[]): string =>
        execFileSync(join(repo, 'bin', 'topoctl'), ['--global', `127.0.0.1:${base}`, ...args], { encoding: 'utf8', env });
      expect(topoctl('keyspaces', 'list')).toContain('commerce');
      expect((await grpcurl(`127.0.0.1:${base}`, ['list'], { tls: { ca, cert, key } })).stdout).toContain('topo.global.v1.GlobalTopoService');
      expect((await grpcurl(`127.0.0.1:${base}`, ['list'])).code).not.toBe(0);

      up.interrupt();
      await up.exited;
      expect(up.lines).toContain('[up] stopped');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(processesMentioning(dataDir)).toEqual([]);
    } finally {
      up.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
