/**
 * What may be written at a record path Vitess reads. A write through the path API to one of
 * these paths must decode as that record and pass the typed API's validation, so no tool
 * (or attacker) can leave a value there that breaks every reader of the prefix: Vitess lists
 * `tablets/` and decodes every value as a Tablet. Other paths take any bytes.
 */
import { CellInfo, CellsAlias, Keyspace, Shard, ShardReplication, SrvKeyspace, Tablet, vschema as vschemapb } from '../proto';
import { TopoError, invalidArgument } from '../store';
import { validateCellInfo } from './cell-info';
import { validateCellsAliasCells } from './cells-alias';
import { validateKeyspace } from './keyspace';
import {
  CELL_INFO_FILE,
  CELLS_ALIAS_FILE,
  KEYSPACE_FILE,
  ROUTING_RULES_PATH,
  SHARD_FILE,
  SHARD_REPLICATION_FILE,
  SRV_KEYSPACE_FILE,
  SRV_VSCHEMA_PATH,
  TABLET_FILE,
  VSCHEMA_FILE,
} from './paths';
import { tabletAliasEquals } from './shard-replication';
import { validateSrvKeyspace } from './serving-graph';
import { validateShard } from './shard';
import { validateTablet } from './tablet';
import {
  parseTabletAlias,
  tabletAliasString,
  validateCellName,
  validateCellsAliasName,
  validateKeyspaceName,
  validateShardName,
  validateTabletAlias,
  validateProtoBytes,
  validateValueSize,
  type BinaryCodec,
} from './validation';

interface RecordKind {
  /** The record's name, as errors give it. */
  name: string;
  pattern: RegExp;
  /** Decodes and validates; throws InvalidArgument naming the field at fault. */
  check(contents: Uint8Array, match: RegExpExecArray): void;
}

const NAME = '([^/]+)';

/**
 * Vitess's vschema messages (VSchema, RoutingRules, SrvVSchema) are binary protobufs, as
 * Vitess stores them and vtgate decodes them: they must decode as that message (JSON, which
 * earlier releases kept, does not). Fields newer than our copy of vschema.proto are kept.
 */
function checkVSchemaBytes<T>(contents: Uint8Array, codec: BinaryCodec<T>, message: string): void {
  validateProtoBytes(contents, codec, 'contents', message);
}

const KINDS: RecordKind[] = [
  {
    name: 'CellInfo',
    pattern: new RegExp(`^cells/${NAME}/${CELL_INFO_FILE}$`),
    check: (contents, [, cell]) => {
      validateCellName(cell, 'cell');
      validateCellInfo(CellInfo.decode(contents));
    },
  },
  {
    name: 'CellsAlias',
    pattern: new RegExp(`^cells_aliases/${NAME}/${CELLS_ALIAS_FILE}$`),
    check: (contents, [, alias]) => {
      validateCellsAliasName(alias, 'cells_alias');
      validateCellsAliasCells(CellsAlias.decode(contents));
    },
  },
  {
    name: 'Keyspace',
    pattern: new RegExp(`^keyspaces/${NAME}/${KEYSPACE_FILE}$`),
    check: (contents, [, keyspace]) => {
      validateKeyspaceName(keyspace, 'keyspace');
      validateKeyspace(Keyspace.decode(contents));
    },
  },
  {
    name: 'VSchema',
    pattern: new RegExp(`^keyspaces/${NAME}/${VSCHEMA_FILE}$`),
    check: (contents, [, keyspace]) => {
      validateKeyspaceName(keyspace, 'keyspace');
      checkVSchemaBytes(contents, vschemapb.Keyspace, 'vschema.Keyspace');
    },
  },
  {
    name: 'Shard',
    pattern: new RegExp(`^keyspaces/${NAME}/shards/${NAME}/${SHARD_FILE}$`),
    check: (contents, [, keyspace, shard]) => {
      validateKeyspaceName(keyspace, 'keyspace');
      validateShardName(shard, 'shard');
      validateShard(Shard.decode(contents), undefined);
    },
  },
  {
    name: 'RoutingRules',
    pattern: new RegExp(`^${ROUTING_RULES_PATH}$`),
    check: (contents) => checkVSchemaBytes(contents, vschemapb.RoutingRules, 'vschema.RoutingRules'),
  },
  {
    name: 'Tablet',
    pattern: new RegExp(`^tablets/${NAME}/${TABLET_FILE}$`),
    check: (contents, [, dir]) => {
      const alias = parseTabletAlias(dir, 'path');
      const tablet = validateTablet(Tablet.decode(contents), 'tablet');
      if (!tabletAliasEquals(tablet.alias, alias)) {
        throw invalidArgument(`tablet.alias: ${tabletAliasString(tablet.alias!)} is not the alias of its path (${dir})`);
      }
    },
  },
  {
    name: 'ShardReplication',
    pattern: new RegExp(`^keyspaces/${NAME}/shards/${NAME}/${SHARD_REPLICATION_FILE}$`),
    check: (contents, [, keyspace, shard]) => {
      validateKeyspaceName(keyspace, 'keyspace');
      validateShardName(shard, 'shard');
      ShardReplication.decode(contents).nodes.forEach((node, i) => validateTabletAlias(node.tabletAlias, `shard_replication.nodes[${i}].tablet_alias`));
    },
  },
  {
    name: 'SrvKeyspace',
    pattern: new RegExp(`^keyspaces/${NAME}/${SRV_KEYSPACE_FILE}$`),
    check: (contents, [, keyspace]) => {
      validateKeyspaceName(keyspace, 'keyspace');
      validateSrvKeyspace(SrvKeyspace.decode(contents));
    },
  },
  {
    name: 'SrvVSchema',
    pattern: new RegExp(`^${SRV_VSCHEMA_PATH}$`),
    check: (contents) => checkVSchemaBytes(contents, vschemapb.SrvVSchema, 'vschema.SrvVSchema'),
  },
];

/** The record kind stored at this path (relative to the root, a leading `/` allowed), if any. */
export function recordKindAt(path: string): string | undefined {
  const relative = path.replace(/^\/+/, '');
  return KINDS.find((kind) => kind.pattern.test(relative))?.name;
}

/**
 * Throws InvalidArgument unless `contents` is a valid record of the kind its path holds;
 * any bytes are fine at other paths.
 */
export function validateRecordContents(path: string, contents: Uint8Array): void {
  const relative = path.replace(/^\/+/, '');
  for (const kind of KINDS) {
    const match = kind.pattern.exec(relative);
    if (!match) continue;
    validateValueSize(contents, 'contents');
    try {
      kind.check(contents, match);
    } catch (err) {
      const why = err instanceof TopoError ? err.detail : err instanceof Error ? err.message : String(err);
      throw invalidArgument(`${relative} holds a ${kind.name}, and these contents are not one: ${why}`);
    }
    return;
  }
}
