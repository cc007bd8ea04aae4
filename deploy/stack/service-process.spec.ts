import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './service-process';

it('a service that fails to start is reported with what its launch logged, not just where the log is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'topo-service-'));
  const logFile = join(dir, 'global-topo.log');
  // An earlier launch's lines are not this launch's cause.
  writeFileSync(logFile, '{"msg":"an older run"}\n');
  try {
    const failed = await ServiceProcess.start({ main: join(__dirname, 'failing-service.fixture.ts'), args: ['15999'], logFile }).then(
      () => new Error('started'),
      (err: Error) => err,
    );
    expect(failed.message).toMatch(/failing-service\.fixture\.ts exited \(exit code 1\); last lines of .*global-topo\.log:\n/);
    expect(failed.message).toContain('    listen failed: bind EADDRINUSE 127.0.0.1:15999');
    expect(failed.message).toContain('    {"level":"info","msg":"starting"}');
    expect(failed.message).not.toContain('an older run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
