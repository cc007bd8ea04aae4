import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface VersionInfo {
  version: string;
  /** The git commit of the repository topoctl runs from, when it is a checkout. */
  commit: string | null;
  node: string;
}

/** The package's root: the nearest directory up from here with topo's package.json (source or dist/). */
function packageRoot(): string | undefined {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'topo') return dir;
  }
  return undefined;
}

export function versionInfo(): VersionInfo {
  const root = packageRoot();
  const version = root ? ((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown') : 'unknown';
  let commit: string | null = null;
  if (root && existsSync(join(root, '.git'))) {
    try {
      commit = execFileSync('git', ['-C', root, 'describe', '--always', '--dirty', '--abbrev=12'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 2000,
      }).trim();
    } catch {
      // No git on PATH: the version alone.
    }
  }
  return { version, commit, node: process.versions.node };
}
