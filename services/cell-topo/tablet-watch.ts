import { Tablet, TabletType } from '../../libs/proto';
import { TabletChange, WatchMessageKind, WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { invalidArgument } from '../../libs/server';
import type { KVInfo } from '../../libs/store';
import { parseAliveRouting, validateKeyspaceName, validateShardName } from '../../libs/topo';
import { encodeOnce, type BatchMessage, type HubEvent, type HubFilter } from '../../libs/watch';

/**
 * WatchTablets on the wire. The hub hands every subscriber the same event objects; each
 * event is decoded once and encoded once per form (changed or left the filter), and a
 * subscriber's message is those encoded changes concatenated behind a small header:
 * repeated message fields are just their encoded entries one after another.
 */

/** A tablet's record, `tablets/<alias>/Tablet`, or its liveness, `liveness/<alias>`. */
const TABLET_PATH = /^(?:tablets\/([^/]+)\/Tablet|liveness\/([^/]+))$/;

/** The alias a tablet path names, and whether it is the record (else the liveness file). */
function tabletPathParts(path: string): { alias: string; record: boolean } {
  const match = TABLET_PATH.exec(path)!;
  return match[1] !== undefined ? { alias: match[1], record: true } : { alias: match[2], record: false };
}
const CHANGES_FIELD_TAG = 0x1a; // field 3, length-delimited

export interface TabletFilterSpec {
  keyspace?: string;
  shard?: string;
  types?: Set<TabletType>;
  /** Identifies the filter: subscribers with equal keys get byte-identical messages. */
  key: string;
}

export function tabletFilterSpec(req: { keyspace: string; shard: string; tabletTypes: TabletType[] }): TabletFilterSpec {
  for (const type of req.tabletTypes) {
    if (!(type in TabletType) || type === TabletType.UNKNOWN) throw invalidArgument('tablet_types', `unknown tablet type ${String(type)}`);
  }
  const keyspace = req.keyspace === '' ? undefined : validateKeyspaceName(req.keyspace, 'keyspace');
  const shard = req.shard === '' ? undefined : validateShardName(req.shard, 'shard');
  const types = req.tabletTypes.length === 0 ? undefined : new Set(req.tabletTypes);
  const key = JSON.stringify([keyspace ?? '', shard ?? '', types ? [...types].sort() : []]);
  return { keyspace, shard, types, key };
}

function matches(spec: TabletFilterSpec, fields: { keyspace: string; shard: string; type: number } | undefined): boolean {
  if (!fields) return spec.keyspace === undefined && spec.shard === undefined && spec.types === undefined;
  return (
    (spec.keyspace === undefined || fields.keyspace === spec.keyspace) &&
    (spec.shard === undefined || fields.shard === spec.shard) &&
    (spec.types === undefined || spec.types.has(fields.type))
  );
}

function decodeTablet(contents: Uint8Array): Tablet | undefined {
  try {
    return Tablet.decode(contents);
  } catch {
    return undefined;
  }
}

type RoutingFields = { keyspace: string; shard: string; type: number } | undefined;

// Decoded once per stored value, whatever the number of subscribers filtering on it: the
// hub hands every subscriber the same contents objects.
const decodedTablets = new WeakMap<Uint8Array, Tablet | undefined>();
const decodedRouting = new WeakMap<Uint8Array, RoutingFields>();

function tabletOf(contents: Uint8Array): Tablet | undefined {
  if (!decodedTablets.has(contents)) decodedTablets.set(contents, decodeTablet(contents));
  return decodedTablets.get(contents);
}

function fieldsOf(path: string, contents: Uint8Array | undefined): RoutingFields {
  if (!contents) return undefined;
  if (tabletPathParts(path).record) return tabletOf(contents);
  if (!decodedRouting.has(contents)) decodedRouting.set(contents, parseAliveRouting(contents));
  return decodedRouting.get(contents);
}

export function hubFilterFor(spec: TabletFilterSpec): HubFilter {
  const unfiltered = spec.keyspace === undefined && spec.shard === undefined && spec.types === undefined;
  return (path, contents) => {
    if (!TABLET_PATH.test(path)) return false;
    return unfiltered || matches(spec, fieldsOf(path, contents));
  };
}

function entry(change: TabletChange): Buffer {
  const body = TabletChange.encode(change).finish();
  const length: number[] = [];
  let n = body.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([CHANGES_FIELD_TAG, ...length]), body]);
}

const encodeChanged = (event: HubEvent): Buffer => {
  const { alias, record } = tabletPathParts(event.path);
  if (record) {
    return event.type === 'put'
      ? entry({ alias, tablet: tabletOf(event.contents), removed: false, version: event.version.toString() })
      : entry({ alias, removed: true, version: event.version.toString() });
  }
  return entry({ alias, alive: event.type === 'put', removed: false, version: event.version.toString() });
};

const encodeLeft = (event: HubEvent): Buffer => {
  const { alias } = tabletPathParts(event.path);
  return entry({ alias, removed: true, version: event.version.toString() });
};

const encodeSnapshotEntry = (kv: KVInfo): Buffer => {
  const { alias, record } = tabletPathParts(kv.path);
  return record
    ? entry({ alias, tablet: tabletOf(kv.contents), removed: false, version: kv.version.toString() })
    : entry({ alias, alive: true, removed: false, version: kv.version.toString() });
};

/** The encoded change an event becomes for a subscriber with this filter, if any. */
export function encodedChange(event: HubEvent, spec: TabletFilterSpec): Buffer | undefined {
  if (!TABLET_PATH.test(event.path)) return undefined;
  const unfiltered = spec.keyspace === undefined && spec.shard === undefined && spec.types === undefined;
  if (unfiltered || event.type === 'delete' || matches(spec, fieldsOf(event.path, event.contents))) {
    return encodeOnce(event, encodeChanged);
  }
  // It passed the hub's filter on its previous value: it left this subscriber's view. A
  // liveness key moving out goes with its record's change in the same transaction.
  return tabletPathParts(event.path).record ? encodeOnce(event, encodeLeft) : undefined;
}

export function encodedSnapshotEntry(kv: KVInfo): Buffer {
  return encodeOnce(kv, encodeSnapshotEntry);
}

// One encoded CHANGES message per transaction and filter, shared by every subscriber with
// that filter: the per-subscriber work is then only the write.
const batchMessages = new WeakMap<BatchMessage, Map<string, Buffer | undefined>>();

export function encodedBatchMessage(batch: BatchMessage, spec: TabletFilterSpec): Buffer | undefined {
  let byFilter = batchMessages.get(batch);
  if (!byFilter) {
    byFilter = new Map();
    batchMessages.set(batch, byFilter);
  }
  if (byFilter.has(spec.key)) return byFilter.get(spec.key);
  const changes = batch.events.map((event) => encodedChange(event, spec)).filter((c): c is Buffer => c !== undefined);
  const encoded =
    changes.length > 0 || batch.resync
      ? tabletsMessage(WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES, batch.revision, changes, batch.resync)
      : undefined;
  byFilter.set(spec.key, encoded);
  return encoded;
}

export function tabletsMessage(kind: WatchMessageKind, revision: bigint, changes: Buffer[], resync = false): Buffer {
  const header = WatchTabletsResponse.encode({ kind, revision: revision.toString(), changes: [], resync }).finish();
  return Buffer.concat([header, ...changes]);
}

/** Serializes pre-encoded messages as they are, and message objects the usual way. */
export function serializeTabletsResponse(value: WatchTabletsResponse | Buffer): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(WatchTabletsResponse.encode(value).finish());
}
