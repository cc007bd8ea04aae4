/**
 * The typed topology over the `Store` interface (Vitess `go/vt/topo`): paths, name
 * validation, key ranges, keyspaces, shards, cells, cells aliases, vschema, routing rules
 * and locks in the global topology; tablets, their registration, the replication graph and
 * the serving graph in a cell's. Errors are the store's `TopoError`.
 */
export * from './paths';
export * from './validation';
export * from './key-range';
export type { FenceOption, VersionedWriteOptions, FieldUpdate } from './write-options';
export { MAX_UPDATE_ATTEMPTS } from './private/proto-record';
export { Keyspaces, DEFAULT_DURABILITY_POLICY, DEFAULT_SIDECAR_DB_NAME, type KeyspaceRecord, type DeleteKeyspaceOptions } from './keyspace';
export { Shards, type ShardRecord, type CreateShardOptions } from './shard';
export { Cells, type CellInfoRecord, type DeleteCellOptions } from './cell-info';
export { CellsAliases, type CellsAliasRecord } from './cells-alias';
export { VSchemas, type VSchemaRecord } from './vschema';
export { RoutingRules, type RoutingRulesRecord } from './routing-rules';
export {
  Locks,
  DEFAULT_LOCK_TIMEOUT_MS,
  newLockContents,
  parseLockContents,
  type LockContents,
  type LockInfo,
  type NamedLockOptions,
  type TopoLockOptions,
} from './locks';
export { GlobalTopology } from './global-topology';
export {
  Tablets,
  validateTablet,
  MAX_HOSTNAME_LENGTH,
  MAX_PORT,
  MAX_PORT_NAME_LENGTH,
  MAX_DB_NAME_LENGTH,
  type TabletRecord,
  type TabletLiveness,
  type TabletFilter,
  type TabletsOptions,
} from './tablet';
export {
  TabletRegistry,
  validateSession,
  validateLeaseId,
  DEFAULT_TABLET_TTL_SECONDS,
  MIN_TABLET_TTL_SECONDS,
  MAX_TABLET_TTL_SECONDS,
  MAX_SESSION_LENGTH,
  type TabletRegistryOptions,
  type RegisterOptions,
  type TabletRegistration,
  type UnregisterOptions,
} from './tablet-registry';
export {
  ShardReplications,
  compareTabletAliases,
  tabletAliasEquals,
  normalizeShardReplication,
  hasReplicationNode,
  withReplicationNode,
  withoutReplicationNode,
  replicationNodeNames,
  type ShardReplicationRecord,
} from './shard-replication';
export { SrvKeyspaces, SrvVSchemas, validateSrvKeyspace, type SrvKeyspaceRecord, type SrvVSchemaRecord } from './serving-graph';
export { computeSrvKeyspace, computeSrvVSchema, SERVED_TABLET_TYPES, type ServingRules, type ShardInput } from './rebuild';
export { CellTopology, type CellTopologyOptions } from './cell-topology';
export { recordKindAt, validateRecordContents } from './record-contents';
export { parseAliveRouting, parseAliveMarker, type AliveRouting, type AliveMarker } from './private/tablet-commit';
