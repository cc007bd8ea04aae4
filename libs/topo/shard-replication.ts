/**
 * The replication graph of a cell (Vitess `topo/replication.go`): one `ShardReplication`
 * record per shard at `keyspaces/<ks>/shards/<shard>/ShardReplication`, listing the aliases
 * of the cell's tablets in that shard, whether or not they are alive. Tablet writes keep it
 * in step in the same transaction (`tablet.ts`, `tablet-registry.ts`); this file reads it
 * and holds the node arithmetic both use.
 */
import { ShardReplication, type TabletAlias } from '../proto';
import type { Store, Version } from '../store';
import { SHARD_REPLICATION_FILE, shardReplicationPath, shardsDir } from './paths';
import { quote } from './private/field-error';
import { renamed } from './private/proto-record';
import { decodeListed } from './private/undecodable';
import { tabletAliasString, validateKeyspaceName, validateShardName } from './validation';

export interface ShardReplicationRecord {
  keyspace: string;
  /** The canonical (lowercase) shard name. */
  shard: string;
  /** Nodes sorted by alias, without duplicates. */
  replication: ShardReplication;
  version: Version;
}

/** Orders aliases by cell, then uid (Vitess `topoproto.TabletAliasList`). */
export function compareTabletAliases(a: TabletAlias, b: TabletAlias): number {
  if (a.cell !== b.cell) return a.cell < b.cell ? -1 : 1;
  return a.uid - b.uid;
}

export function tabletAliasEquals(a: TabletAlias | undefined, b: TabletAlias | undefined): boolean {
  return a !== undefined && b !== undefined && a.cell === b.cell && a.uid === b.uid;
}

/** Nodes sorted by alias, each alias once; nodes without an alias are dropped. */
export function normalizeShardReplication(replication: ShardReplication): ShardReplication {
  const aliases = replication.nodes
    .map((node) => node.tabletAlias)
    .filter((alias): alias is TabletAlias => alias !== undefined)
    .sort(compareTabletAliases)
    .filter((alias, index, sorted) => index === 0 || !tabletAliasEquals(alias, sorted[index - 1]));
  return { nodes: aliases.map((alias) => ({ tabletAlias: { cell: alias.cell, uid: alias.uid } })) };
}

export function hasReplicationNode(replication: ShardReplication, alias: TabletAlias): boolean {
  return replication.nodes.some((node) => tabletAliasEquals(node.tabletAlias, alias));
}

/** The record with the alias's node added (normalised). */
export function withReplicationNode(replication: ShardReplication, alias: TabletAlias): ShardReplication {
  return normalizeShardReplication({ nodes: [...replication.nodes, { tabletAlias: alias }] });
}

/** The record with the alias's node removed (normalised). */
export function withoutReplicationNode(replication: ShardReplication, alias: TabletAlias): ShardReplication {
  return normalizeShardReplication({ nodes: replication.nodes.filter((node) => !tabletAliasEquals(node.tabletAlias, alias)) });
}

/** A readable list of a record's nodes, for messages and logs. */
export function replicationNodeNames(replication: ShardReplication): string[] {
  return replication.nodes.flatMap((node) => (node.tabletAlias ? [tabletAliasString(node.tabletAlias)] : []));
}

const label = (keyspace: string, shard: string): string => `replication graph of shard ${quote(`${keyspace}/${shard}`)}`;

export class ShardReplications {
  constructor(private readonly store: Store) {}

  /**
   * The shard's replication graph in this cell (Vitess GetShardReplication). NoNode when no
   * tablet of the cell has ever been in the shard, or the last one left it.
   */
  async get(keyspace: string, shard: string): Promise<ShardReplicationRecord> {
    validateKeyspaceName(keyspace);
    const name = validateShardName(shard);
    const { contents, version } = await this.store.get(shardReplicationPath(keyspace, name)).catch((err: unknown) => {
      throw renamed(err, label(keyspace, name));
    });
    return { keyspace, shard: name, replication: normalizeShardReplication(ShardReplication.decode(contents)), version };
  }

  /** Every replication graph of a keyspace in this cell, in shard-name order; empty when it has none. */
  async list(keyspace: string, skipped?: string[]): Promise<ShardReplicationRecord[]> {
    const prefix = `${shardsDir(keyspace)}/`;
    const records: ShardReplicationRecord[] = [];
    for (const kv of await this.store.list(prefix)) {
      const rest = kv.path.slice(prefix.length).split('/');
      if (rest.length !== 2 || rest[1] !== SHARD_REPLICATION_FILE) continue;
      const replication = decodeListed(ShardReplication, kv, skipped);
      if (replication) records.push({ keyspace, shard: rest[0], replication: normalizeShardReplication(replication), version: kv.version });
    }
    return records.sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
  }
}
