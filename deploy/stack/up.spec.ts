import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { grpcurl } from '../../libs/testing/grpcurl';

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

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(repo, script), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const waitFor = (pattern: RegExp, timeoutMs: number): Promise<void> =>
    lines.some((l) => pattern.test(l))
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${script} never printed ${pattern}:\n${lines.join('\n')}`)), timeoutMs);
          waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        });
  return { child, lines, exited, waitFor };
}

describe.each(['memory', 'etcd'])('the local stack with the %s backend', (backend) => {
  it('comes up, runs the demo, and leaves nothing running after Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `topo-up-${backend}-`));
    const base = 31000 + ((process.pid * 7 + (backend === 'etcd' ? 500 : 0)) % 3000);
    const up = run('deploy/stack/up.ts', ['--data-dir', dataDir, '--global-port', String(base + 5000), '--global-topo-port', String(base)], {
      BACKEND: backend,
    });
    try {
      await up.waitFor(/up; Ctrl-C stops everything/, 90_000);
      expect(up.lines.join('\n')).toContain(`cell-topo zone1:      127.0.0.1:${base + 1}`);
      const demo = run('deploy/stack/demo.ts', ['--global', `127.0.0.1:${base}`, '--duration', '6', '--churn-ms', '700', '--tablets-per-cell', '2']);
      expect(await demo.exited).toBe(0);
      const output = demo.lines.join('\n');
      expect(output).toContain('[demo] 4 tablets registered in zone1, zone2');
      expect(output).toMatch(/\[router zone1\] zone1-0000001000 +PRIMARY +commerce\/-80 +alive/);
      expect(output).toMatch(/\[router zone2\] .* (not alive|removed)/);
      expect(processesMentioning(dataDir).length).toBeGreaterThan(0);

      // What the stack prints to paste works: topoctl and grpcurl against it.
      const topoctl = (...args: string[]): string =>
        execFileSync(join(repo, 'bin', 'topoctl'), ['--global', `127.0.0.1:${base}`, ...args], { encoding: 'utf8' });
      expect(topoctl('health')).toMatch(/zone2 +127\.0\.0\.1:\d+ +topo\.cell\.v1\.CellTopoService +SERVING/);
      expect(topoctl('keyspaces', 'list')).toContain('commerce');
      const listed = await grpcurl(`127.0.0.1:${base}`, ['list']);
      expect(listed.stdout).toContain('topo.global.v1.GlobalTopoService');

      up.child.kill('SIGINT');
      expect(await up.exited).toBe(0);
      expect(up.lines).toContain('[up] stopped');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(processesMentioning(dataDir)).toEqual([]);
      expect(processesMentioning(`127.0.0.1:${base + 1}`)).toEqual([]);
    } finally {
      up.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
