import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const repo = join(__dirname, '..', '..');
const findGo = join(repo, 'deploy', 'tools', 'find-go.sh');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'topo-make-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH holding only the few tools the scripts use, and no Go. */
function bareBin(): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['bash', 'ls', 'sort', 'tr', 'grep', 'cat', 'rm', 'sh', 'dirname']) {
    const found = execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(bin, tool));
  }
  return bin;
}

function write(path: string, text: string, mode = 0o644): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('finding Go', () => {
  it('finds a Go that is installed but off PATH, and says where it looked when there is none', () => {
    const path = bareBin();
    const go = write(join(dir, 'usr-local-go', 'bin', 'go'), '#!/bin/sh\necho "go version go1.25.0 linux/amd64"\n', 0o755);
    const found = spawnSync(findGo, { env: { PATH: path, HOME: dir, GO_LOCATIONS: `/nonexistent/go ${go}` }, encoding: 'utf8' });
    expect({ code: found.status, stdout: found.stdout.trim() }).toEqual({ code: 0, stdout: go });

    const none = spawnSync(findGo, { env: { PATH: path, HOME: dir, GO_LOCATIONS: '/nonexistent/go' }, encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('Go was not found on PATH nor in: /nonexistent/go');
  });

  it('make tools uses a Go off PATH, and without any Go says the stack does not need it', () => {
    const path = `${bareBin()}:${dirname(execFileSync('bash', ['-c', 'command -v make'], { encoding: 'utf8' }).trim())}`;
    // A stand-in Go that reports the pinned grpcurl version baked into a stand-in grpcurl.
    const go = write(
      join(dir, 'go', 'bin', 'go'),
      '#!/bin/sh\nif [ "$2" = "-m" ]; then printf "%s\\n\\tmod\\tgithub.com/fullstorydev/grpcurl\\tv1.9.4\\th1:x\\n" "$3"; else echo "go version go1.25.0 linux/amd64"; fi\n',
      0o755,
    );
    write(join(dir, 'tools', 'grpcurl'), '#!/bin/sh\n', 0o755);
    const make = (env: Record<string, string>, ...vars: string[]) =>
      spawnSync('make', ['-s', '-C', repo, 'tools', `TOOLS_BIN=${join(dir, 'tools')}`, ...vars], {
        env: { PATH: path, HOME: dir, ...env },
        encoding: 'utf8',
      });
    const offPath = make({ GO_LOCATIONS: go });
    expect({ code: offPath.status, stderr: offPath.stderr }).toEqual({ code: 0, stderr: '' });
    expect(offPath.stdout).toContain(`grpcurl: ${join(dir, 'tools', 'grpcurl')} v1.9.4`);

    rmSync(join(dir, 'tools', 'grpcurl'));
    const noGo = make({ GO_LOCATIONS: '/nonexistent/go' });
    expect(noGo.status).not.toBe(0);
    expect(noGo.stderr).toContain('no Go toolchain was found (the tests need grpcurl; the stack does not)');
    expect(noGo.stderr).not.toContain('not installed');
  });
});

describe('make targets', () => {
  /** A tree with the Makefile and the files its rules look at, every output newer than its inputs. */
  function tree(): void {
    copyFileSync(join(repo, 'Makefile'), join(dir, 'Makefile'));
    const old = new Date(Date.now() - 120_000);
    const built = new Date(Date.now() - 60_000);
    for (const file of ['package-lock.json', 'package.json', 'buf.yaml', 'buf.gen.yaml', 'tsconfig.json', 'tsconfig.build.json', 'proto/topo/x.proto', 'libs/a.ts']) {
      utimesSync(write(join(dir, file), ''), old, old);
    }
    write(join(dir, 'deploy/tools/find-go.sh'), '#!/bin/sh\nexit 1\n', 0o755);
    for (const output of ['node_modules/.package-lock.json', 'libs/proto/gen/descriptor-set.binpb', 'dist/libs/client/cli/main.js']) {
      utimesSync(write(join(dir, output), ''), built, built);
    }
  }
  const dryRun = (target: string): string => execFileSync('make', ['-n', '-C', dir, target], { encoding: 'utf8' });

  it('a second make build or make proto installs nothing and rebuilds nothing', () => {
    tree();
    for (const target of ['proto', 'build']) {
      const planned = dryRun(target);
      expect(planned).not.toContain('npm ci');
      expect(planned).not.toContain('npm run --silent proto');
      expect(planned).not.toContain('tsc -p tsconfig.build.json');
    }
    // The same rules do run when their inputs change: a new lockfile, a changed source.
    utimesSync(join(dir, 'libs/a.ts'), new Date(), new Date());
    expect(dryRun('build')).toContain('tsc -p tsconfig.build.json');
    expect(dryRun('build')).not.toContain('npm ci');
    utimesSync(join(dir, 'package-lock.json'), new Date(), new Date());
    expect(dryRun('proto')).toContain('npm ci');
  });

  it('make reset removes the data dir only, and not under a running stack', () => {
    const data = join(dir, 'data');
    write(join(data, 'etcd-global', 'etcd-0', 'member', 'wal', '0.wal'), 'x');
    write(join(data, 'up.pid'), `${process.pid}\n`); // a live process: the stack is running
    const refused = spawnSync('make', ['-s', '-C', repo, 'reset', `DATA_DIR=${data}`], { encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`a stack is running from ${data} (pid ${process.pid}): stop it (Ctrl-C) first`);
    expect(existsSync(join(data, 'etcd-global'))).toBe(true);

    write(join(data, 'up.pid'), '2147483646\n'); // no such process: a stack that died
    const reset = spawnSync('make', ['-s', '-C', repo, 'reset', `DATA_DIR=${data}`], { encoding: 'utf8' });
    expect({ code: reset.status, stderr: reset.stderr }).toEqual({ code: 0, stderr: '' });
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(repo, 'Makefile'))).toBe(true);
  });
});
