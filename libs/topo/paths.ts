/**
 * The one builder of topology paths, relative to a service's store root, in Vitess's
 * layout. Every builder validates its names first, so no path can be built from a name
 * the topology refuses, and shard names always appear in their canonical form.
 */
import type { TabletAlias } from '../proto';
import {
  tabletAliasString,
  validateCellName,
  validateCellsAliasName,
  validateKeyspaceName,
  validateLockName,
  validateShardName,
} from './validation';

export const CELLS_DIR = 'cells';
export const CELLS_ALIASES_DIR = 'cells_aliases';
export const KEYSPACES_DIR = 'keyspaces';
export const SHARDS_DIR = 'shards';
export const TABLETS_DIR = 'tablets';
/**
 * Tablet liveness, one lease-bound file per alias. Outside `tablets/` because Vitess lists
 * that directory and decodes every value in it as a Tablet.
 */
export const LIVENESS_DIR = 'liveness';
export const NAMED_LOCKS_DIR = 'internal/named_locks';
/** Who holds each lock taken through the API: the caller's certificate identity, bound to the lock's lease. */
export const LOCK_HOLDERS_DIR = 'internal/lock_holders';

export const CELL_INFO_FILE = 'CellInfo';
export const CELLS_ALIAS_FILE = 'CellsAlias';
export const KEYSPACE_FILE = 'Keyspace';
export const VSCHEMA_FILE = 'VSchema';
export const SHARD_FILE = 'Shard';
export const TABLET_FILE = 'Tablet';
export const SHARD_REPLICATION_FILE = 'ShardReplication';
export const SRV_KEYSPACE_FILE = 'SrvKeyspace';

/** Global: the routing rules of the whole deployment. */
export const ROUTING_RULES_PATH = 'RoutingRules';
/** Global: Vitess's shard routing rules, keyspace routing rules and mirror rules, which a SrvVSchema carries. */
export const SHARD_ROUTING_RULES_PATH = 'ShardRoutingRules';
export const KEYSPACE_ROUTING_RULES_PATH = 'routing_rules/keyspace/Rules';
export const MIRROR_RULES_PATH = 'MirrorRules';
/** Global: the directory Vitess's LockRoutingRules locks. */
export const ROUTING_RULES_LOCK_DIR = 'routing_rules';
/** Cell: the serving vschema routers of the cell read. */
export const SRV_VSCHEMA_PATH = 'SrvVSchema';

/** Where the store queues the contenders of a lock directory (docs/store.md, "Locks and fencing"). */
export const LOCK_QUEUE_DIR = 'locks';

// Global topology.

export function cellInfoPath(cell: string): string {
  return `${CELLS_DIR}/${validateCellName(cell)}/${CELL_INFO_FILE}`;
}

export function cellsAliasPath(alias: string): string {
  return `${CELLS_ALIASES_DIR}/${validateCellsAliasName(alias)}/${CELLS_ALIAS_FILE}`;
}

/** The keyspace's directory; also the directory its keyspace lock is taken on. */
export function keyspaceDir(keyspace: string): string {
  return `${KEYSPACES_DIR}/${validateKeyspaceName(keyspace)}`;
}

export function keyspacePath(keyspace: string): string {
  return `${keyspaceDir(keyspace)}/${KEYSPACE_FILE}`;
}

export function vschemaPath(keyspace: string): string {
  return `${keyspaceDir(keyspace)}/${VSCHEMA_FILE}`;
}

export function shardsDir(keyspace: string): string {
  return `${keyspaceDir(keyspace)}/${SHARDS_DIR}`;
}

/** The shard's directory; also the directory its shard lock is taken on. */
export function shardDir(keyspace: string, shard: string): string {
  return `${shardsDir(keyspace)}/${validateShardName(shard)}`;
}

export function shardPath(keyspace: string, shard: string): string {
  return `${shardDir(keyspace, shard)}/${SHARD_FILE}`;
}

export function keyspaceLockDir(keyspace: string): string {
  return keyspaceDir(keyspace);
}

export function shardLockDir(keyspace: string, shard: string): string {
  return shardDir(keyspace, shard);
}

export function namedLockDir(name: string): string {
  return `${NAMED_LOCKS_DIR}/${validateLockName(name)}`;
}

/** The directory holding the queue of one lock directory. */
export function lockQueueDir(lockDir: string): string {
  return `${lockDir}/${LOCK_QUEUE_DIR}`;
}

/** The identity that took the lock granted on this lease (a lock's lease is its own). */
export function lockHolderPath(leaseId: bigint): string {
  return `${LOCK_HOLDERS_DIR}/${leaseId.toString(16).padStart(16, '0')}`;
}

// Cell topology.

export function tabletDir(alias: TabletAlias): string {
  return `${TABLETS_DIR}/${tabletAliasString(alias)}`;
}

export function tabletPath(alias: TabletAlias): string {
  return `${tabletDir(alias)}/${TABLET_FILE}`;
}

/** Present while the tablet's registration lease lives; the Tablet record itself is persistent. */
export function tabletAlivePath(alias: TabletAlias): string {
  return `${LIVENESS_DIR}/${tabletAliasString(alias)}`;
}

export function shardReplicationPath(keyspace: string, shard: string): string {
  return `${shardDir(keyspace, shard)}/${SHARD_REPLICATION_FILE}`;
}

export function srvKeyspacePath(keyspace: string): string {
  return `${keyspaceDir(keyspace)}/${SRV_KEYSPACE_FILE}`;
}
