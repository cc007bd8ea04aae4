/**
 * The typed topology over the `Store` interface (Vitess `go/vt/topo`): paths, name
 * validation, key ranges, keyspaces, shards, cells, cells aliases, vschema, routing rules
 * and locks. Errors are the store's `TopoError`.
 */
export * from './paths';
export * from './validation';
export * from './key-range';
export type { FenceOption, VersionedWriteOptions, FieldUpdate } from './write-options';
export { MAX_UPDATE_ATTEMPTS } from './private/proto-record';
export { Keyspaces, type KeyspaceRecord, type DeleteKeyspaceOptions } from './keyspace';
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
