import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickFreePorts } from './free-ports';

export interface MemberLayout {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

/** Who the members are and where they listen: everything etcd bakes into its data dir. */
export interface ClusterLayout {
  readonly token: string;
  readonly members: readonly MemberLayout[];
}

const LAYOUT_FILE = 'cluster.json';

export function memberName(index: number): string {
  return `etcd-${index}`;
}

/** A new cluster: unique token, given client ports or free ones, free peer ports. */
export async function planLayout(
  memberCount: number,
  host: string,
  clientPorts: readonly number[] | undefined,
): Promise<ClusterLayout> {
  const fixed = clientPorts ?? [];
  const picked = await pickFreePorts(
    (clientPorts === undefined ? memberCount : 0) + memberCount,
    host,
    fixed,
  );
  const clients = clientPorts ?? picked.slice(0, memberCount);
  const peers = picked.slice(picked.length - memberCount);
  return {
    token: `topo-etcd-${randomUUID()}`,
    members: clients.map((clientPort, index) => ({
      name: memberName(index),
      clientPort,
      peerPort: peers[index],
    })),
  };
}

/**
 * The layout a kept data dir was created with. Members must come back with the same names,
 * peer URLs and token or a multi-member cluster no longer recognises them.
 */
export function loadLayout(dataDir: string): ClusterLayout | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LAYOUT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as ClusterLayout;
}

export function saveLayout(dataDir: string, layout: ClusterLayout): void {
  writeFileSync(join(dataDir, LAYOUT_FILE), `${JSON.stringify(layout, null, 2)}\n`);
}

export function layoutFilePath(dataDir: string): string {
  return join(dataDir, LAYOUT_FILE);
}
