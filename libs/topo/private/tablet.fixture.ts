import { ShardReplication, Tablet, TabletType } from '../../proto';
import type { Store } from '../../store';
import { replicationNodeNames } from '../shard-replication';

/** A valid replica tablet of `ks/-80` in zone1; `overrides` replace fields. */
export function newTablet(uid: number, overrides: Partial<Tablet> = {}): Tablet {
  return Tablet.fromPartial({
    alias: { cell: 'zone1', uid },
    hostname: `host${uid}.example`,
    portMap: { vt: 15000 + uid, grpc: 16000 + uid },
    keyspace: 'ks',
    shard: '-80',
    type: TabletType.REPLICA,
    mysqlHostname: `host${uid}.example`,
    mysqlPort: 3306,
    ...overrides,
  });
}

/** The aliases listed in a shard's replication graph, or undefined when it has none. */
export async function replicationNodes(store: Store, keyspace: string, shard: string): Promise<string[] | undefined> {
  const path = `keyspaces/${keyspace}/shards/${shard}/ShardReplication`;
  const kv = (await store.list(path)).find((entry) => entry.path === path);
  return kv && replicationNodeNames(ShardReplication.decode(kv.contents));
}

/** The version of one file, or undefined when it does not exist. */
export async function versionOf(store: Store, path: string): Promise<bigint | undefined> {
  return (await store.list(path)).find((entry) => entry.path === path)?.version;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
