import { rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { layoutFilePath, memberName } from './cluster-layout';
import type { ClusterSettings } from './cluster-options';

export function memberDataDir(settings: ClusterSettings, name: string): string {
  return join(settings.dataDir, name);
}

export function memberLogFile(settings: ClusterSettings, name: string): string {
  return settings.logFile ?? join(settings.dataDir, `${name}.log`);
}

export function removeMemberDirs(settings: ClusterSettings): void {
  for (const name of memberNames(settings)) {
    rmSync(memberDataDir(settings, name), { recursive: true, force: true });
  }
}

/**
 * Deletes what the harness wrote. A directory the harness created goes entirely; in a
 * caller's directory only the member dirs, default logs and layout file go, and the
 * directory itself only if that leaves it empty.
 */
export function removeClusterData(settings: ClusterSettings): void {
  if (settings.ownsDataDir) {
    rmSync(settings.dataDir, { recursive: true, force: true });
    return;
  }
  removeMemberDirs(settings);
  if (settings.logFile === undefined) {
    for (const name of memberNames(settings)) {
      rmSync(memberLogFile(settings, name), { force: true });
    }
  }
  rmSync(layoutFilePath(settings.dataDir), { force: true });
  try {
    rmdirSync(settings.dataDir);
  } catch {
    // Not empty: the rest belongs to the caller.
  }
}

function memberNames(settings: ClusterSettings): string[] {
  return Array.from({ length: settings.memberCount }, (_, index) => memberName(index));
}
