/**
 * Computing a cell's serving graph from the global topology (Vitess
 * `topotools/rebuild_keyspace.go` and `topotools/rebuild_vschema.go`). Pure functions: the
 * caller reads the global records (under the keyspace lock, as Vitess does) and saves the
 * result in each cell with `SrvKeyspaces` and `SrvVSchemas`.
 */
import {
  KeyspaceType,
  TabletType,
  ThrottlerConfig,
  tabletTypeToJSON,
  type KeyRange,
  type Keyspace,
  type Shard,
  type ShardReference,
  type SrvKeyspace,
  vschema as vschemapb,
} from '../proto';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { TopoError, TopoErrorCode } from '../store';
import { compareKeyRanges, compareKeyspaceIds, isFullKeyRange, keyRangeString } from './key-range';
import { fieldError, quote } from './private/field-error';
import { isCustomShardName, validateCellName, validateKeyspaceName, validateProtoBytes, validateShardName, type BinaryCodec } from './validation';

/** The tablet types a SrvKeyspace has partitions for, in Vitess's order. */
export const SERVED_TABLET_TYPES: readonly TabletType[] = [TabletType.PRIMARY, TabletType.REPLICA, TabletType.RDONLY];

export interface ShardInput {
  name: string;
  shard: Shard;
}

/**
 * The cell's topology cannot be served as asked. NodeNotEmpty is the store's code for a
 * state that forbids an operation (gRPC FAILED_PRECONDITION) without inviting a retry, as
 * BadVersion would.
 */
function notServable(message: string): TopoError {
  return new TopoError(TopoErrorCode.NodeNotEmpty, message);
}

const NO_KEY = new Uint8Array(0);

function copyKeyRange(range: KeyRange | undefined): KeyRange | undefined {
  return range && { start: Buffer.from(range.start), end: Buffer.from(range.end) };
}

/**
 * Vitess refuses to rebuild while a traffic switch is under way: a partition carrying a
 * query-service-disabled control means some shards' serving was moved by hand, and a
 * rebuild from `is_primary_serving` would move it back.
 */
function refuseDuringTrafficSwitch(current: SrvKeyspace, cell: string): void {
  for (const partition of current.partitions) {
    const disabled = partition.shardTabletControls.find((control) => control.queryServiceDisabled);
    if (disabled) {
      throw notServable(
        `cell ${quote(cell)}: the ${tabletTypeToJSON(partition.servedType)} partition has query service disabled for shard ` +
          `${quote(disabled.name)} — a traffic switch is in progress; finish or reverse it before rebuilding`,
      );
    }
  }
}

/**
 * The shards, sorted by key range, must cover the whole key space exactly once (Vitess
 * `OrderAndCheckPartitions`): the first starts at the minimum, the last ends at the
 * maximum, and each ends where the next starts. An unset range is the full range.
 */
function checkCoverage(references: ShardReference[], cell: string): void {
  if (references.length === 0) return;
  const bound = (ref: ShardReference, side: 'start' | 'end'): Uint8Array => (isFullKeyRange(ref.keyRange) ? NO_KEY : ref.keyRange![side]);
  const where = `serving shards of cell ${quote(cell)}`;
  const first = references[0];
  const last = references[references.length - 1];
  if (compareKeyspaceIds(bound(first, 'start'), NO_KEY) !== 0) {
    throw notServable(`${where} do not start at the minimum key: the first is ${quote(first.name)}`);
  }
  if (compareKeyspaceIds(bound(last, 'end'), NO_KEY) !== 0) {
    throw notServable(`${where} do not end at the maximum key: the last is ${quote(last.name)}`);
  }
  for (let i = 0; i + 1 < references.length; i++) {
    const [current, next] = [references[i], references[i + 1]];
    const end = bound(current, 'end');
    // An empty end is the maximum: whatever follows overlaps.
    const order = compareKeyspaceIds(end, NO_KEY) === 0 ? 1 : compareKeyspaceIds(end, bound(next, 'start'));
    if (order !== 0) {
      throw notServable(
        `${where} ${order > 0 ? 'overlap' : 'leave a gap'}: ${quote(current.name)} (${keyRangeString(current.keyRange)}) ` +
          `then ${quote(next.name)} (${keyRangeString(next.keyRange)})`,
      );
    }
  }
}

/**
 * A cell's SrvKeyspace as Vitess's RebuildKeyspace writes it:
 *
 * - one partition for each of PRIMARY, REPLICA and RDONLY, each listing every shard whose
 *   `is_primary_serving` is set, with its name and key range, sorted by key range; no
 *   partitions at all when no shard serves;
 * - the shards must cover the key space exactly once, except for SNAPSHOT keyspaces
 *   (NodeNotEmpty otherwise: nothing is written from a graph routers could not use);
 * - no shard tablet controls: query-service controls are set by traffic switches after a
 *   rebuild, and while `current` (the cell's SrvKeyspace now) has one that disables query
 *   service the rebuild is refused with NodeNotEmpty, as Vitess refuses it;
 * - the keyspace's throttler config, when it has one.
 *
 * Shard tablet controls in the global Shard records (denied tables) are not copied: the
 * SrvKeyspace has no field for them and tablets read them from their Shard record.
 */
export function computeSrvKeyspace(keyspace: Keyspace, shards: readonly ShardInput[], cell: string, current?: SrvKeyspace): SrvKeyspace {
  validateCellName(cell);
  if (current) refuseDuringTrafficSwitch(current, cell);
  const seen = new Set<string>();
  const serving = shards
    .map(({ name, shard }, index) => {
      const canonical = validateShardName(name, `shards[${index}].name`);
      if (seen.has(canonical)) throw fieldError(`shards[${index}].name`, `${quote(canonical)} is given twice`);
      seen.add(canonical);
      return { name: canonical, shard };
    })
    .filter(({ shard }) => shard.isPrimaryServing)
    .sort((a, b) => compareKeyRanges(a.shard.keyRange, b.shard.keyRange) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const references = serving.map(({ name, shard }): ShardReference => ({ name, keyRange: copyKeyRange(shard.keyRange) }));
  // Custom sharding (every serving shard custom-named, no key ranges) has no coverage to
  // check, as in Vitess's OrderAndCheckPartitions.
  const customSharding = references.length > 0 && references.every((ref) => isCustomShardName(ref.name));
  if (keyspace.keyspaceType !== KeyspaceType.SNAPSHOT && !customSharding) checkCoverage(references, cell);
  return {
    partitions:
      references.length === 0
        ? []
        : SERVED_TABLET_TYPES.map((servedType) => ({
            servedType,
            shardReferences: references.map((ref) => ({ name: ref.name, keyRange: copyKeyRange(ref.keyRange) })),
            shardTabletControls: [],
          })),
    throttlerConfig: keyspace.throttlerConfig && ThrottlerConfig.fromPartial(keyspace.throttlerConfig),
  };
}

/** What a SrvVSchema carries besides the keyspaces' vschemas: each stored binary message, or undefined when none is stored. */
export interface ServingRules {
  routingRules?: Uint8Array;
  shardRoutingRules?: Uint8Array;
  keyspaceRoutingRules?: Uint8Array;
  mirrorRules?: Uint8Array;
}

/**
 * A cell's SrvVSchema (Vitess RebuildVSchema): the binary `vschema.SrvVSchema` vtgate
 * decodes. `keyspaceVSchemas` maps every keyspace to its stored binary `vschema.Keyspace`,
 * or undefined when it has none (an empty vschema then, as in Vitess); each rule set is
 * included as stored, an empty message when none is stored (Vitess's getters answer empty
 * rules). The stored messages are embedded byte for byte rather than decoded and encoded
 * again, so fields newer than our copy of vschema.proto reach vtgate intact. Keyspaces are
 * written in name order, so the same inputs always give the same bytes and a rebuild can
 * skip saving what is already stored.
 */
export function computeSrvVSchema(keyspaceVSchemas: ReadonlyMap<string, Uint8Array | undefined>, rules: ServingRules = {}): Uint8Array {
  const writer = new BinaryWriter();
  for (const keyspace of [...keyspaceVSchemas.keys()].sort()) {
    validateKeyspaceName(keyspace, 'keyspace_vschemas');
    const vschema = keyspaceVSchemas.get(keyspace) ?? new Uint8Array(0);
    validateProtoBytes(vschema, vschemapb.Keyspace, `vschema of ${quote(keyspace)}`, 'vschema.Keyspace');
    // map<string, Keyspace> keyspaces = 1: each entry a message {1: key, 2: value}.
    writer.uint32(10).fork().uint32(10).string(keyspace).uint32(18).bytes(vschema).join();
  }
  const embed = (field: number, bytes: Uint8Array | undefined, codec: BinaryCodec<unknown>, message: string): void => {
    const value = bytes ?? new Uint8Array(0);
    validateProtoBytes(value, codec, message, `vschema.${message}`);
    writer.uint32((field << 3) | 2).bytes(value);
  };
  embed(2, rules.routingRules, vschemapb.RoutingRules, 'RoutingRules');
  embed(3, rules.shardRoutingRules, vschemapb.ShardRoutingRules, 'ShardRoutingRules');
  embed(4, rules.keyspaceRoutingRules, vschemapb.KeyspaceRoutingRules, 'KeyspaceRoutingRules');
  embed(5, rules.mirrorRules, vschemapb.MirrorRules, 'MirrorRules');
  return writer.finish();
}
