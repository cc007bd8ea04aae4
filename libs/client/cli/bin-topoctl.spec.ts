import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const script = join(__dirname, '..', '..', '..', 'bin', 'topoctl');
const REBUILT = 'topoctl: dist/ is missing or older than the sources; building it (make build)\n';

/**
 * bin/topoctl in a repository of its own: the real script and Node, a stand-in tsc that
 * writes a main.js printing "fresh", and sources whose age the test sets.
 */
describe('bin/topoctl', () => {
  let repo: string;
  const write = (path: string, text: string, ageSeconds = 0): void => {
    const file = join(repo, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    const when = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(file, when, when);
  };
  const topoctl = () => spawnSync(join(repo, 'bin', 'topoctl'), ['--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'topoctl-bin-'));
    mkdirSync(join(repo, 'bin'));
    copyFileSync(script, join(repo, 'bin', 'topoctl'));
    chmodSync(join(repo, 'bin', 'topoctl'), 0o755);
    mkdirSync(join(repo, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(process.execPath, join(repo, 'node_modules', '.bin', 'node'));
    write(
      'node_modules/.bin/tsc',
      "const fs = require('fs'); fs.mkdirSync('dist/libs/client/cli', { recursive: true }); fs.writeFileSync('dist/libs/client/cli/main.js', 'console.log(\"fresh\")');\n",
    );
    chmodSync(join(repo, 'node_modules', '.bin', 'tsc'), 0o755);
    write('node_modules/ts-node/register/transpile-only.js', '');
    write('libs/client/cli/main.ts', 'console.log("from source");\n', 120);
    write('libs/proto/gen/descriptor-set.binpb', '', 120);
    for (const file of ['package.json', 'tsconfig.build.json']) write(file, '{}', 120);
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('runs the compiled CLI while it is newer than every source', () => {
    write('dist/libs/client/cli/main.js', 'console.log("compiled")', 60);
    expect(topoctl()).toMatchObject({ status: 0, stdout: 'compiled\n', stderr: '' });
  });

  it('rebuilds a dist/ that is missing or older than a source, once, and says so', () => {
    expect(topoctl()).toMatchObject({ status: 0, stdout: 'fresh\n', stderr: REBUILT });
    write('dist/libs/client/cli/main.js', 'console.log("stale")', 60);
    write('libs/client/cli/main.ts', 'console.log("from source");\n'); // edited after the build
    expect(topoctl()).toMatchObject({ status: 0, stdout: 'fresh\n', stderr: REBUILT });
    expect(topoctl()).toMatchObject({ status: 0, stdout: 'fresh\n', stderr: '' });
  });

  it('runs the sources when dist/ is stale and cannot be rebuilt', () => {
    rmSync(join(repo, 'node_modules', '.bin', 'tsc'));
    write('dist/libs/client/cli/main.js', 'console.log("stale")', 60);
    write('libs/client/cli/main.ts', 'console.log("from source");\n');
    const result = topoctl();
    expect(result).toMatchObject({ status: 0, stdout: 'from source\n' });
    expect(result.stderr).toContain('running from the sources');
  });
});
