import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './service-process';

const repo = join(__dirname, '..', '..');

it('a service that fails to start is reported with what its launch logged, not just where the log is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'topo-service-'));
  const logFile = join(dir, 'global-topo.log');
  // An earlier launch's lines are not this launch's cause.
  writeFileSync(logFile, '{"msg":"an older run"}\n');
  try {
    const failed = await ServiceProcess.start({
      main: join(repo, 'services', 'global-topo', 'main.ts'),
      args: ['--backend', 'memory', '--listen', '127.0.0.1:0', '--lock-ttl', 'soon'],
      logFile,
    }).then(
      () => new Error('started'),
      (err: Error) => err,
    );
    expect(failed.message).toMatch(/main\.ts exited \(exit code \d+\); last lines of .*global-topo\.log:\n {4}.*--lock-ttl must be a whole number/);
    expect(failed.message).not.toContain('an older run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
