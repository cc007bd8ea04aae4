import { Tablet, TabletType } from '../../libs/proto';
import { TabletChange, WatchMessageKind, WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import type { BackendStatus } from '../../libs/proto/gen/topo/watch/v1/watch';
import { grpcFrame, invalidArgument, packSnapshot, packTransactions, repeatedEntry } from '../../libs/server';
import type { KVInfo } from '../../libs/store';
import { LIVENESS_DIR, TABLETS_DIR, parseAliveRouting, validateKeyspaceName, validateShardName } from '../../libs/topo';
import { encodeOnce, type BatchMessage, type HubEvent, type HubFilter, type SnapshotMessage } from '../../libs/watch';

/**
 * WatchTablets on the wire. The hub hands every subscriber the same event objects; each
 * event is decoded once and encoded once per form (changed, or left the filter), each
 * transaction once per filter, and each message is framed once and the same Buffer written
 * to every stream that gets it. A message is encoded changes concatenated behind a small
 * header: repeated message fields are just their encoded entries one after another.
 */

/** The directories a tablet watch covers, through one backend watch of the cell's root. */
export const TABLET_WATCH_DIRS = [TABLETS_DIR, LIVENESS_DIR] as const;

/** A tablet's record, `tablets/<alias>/Tablet`, or its liveness, `liveness/<alias>`. */
const TABLET_PATH = /^(?:tablets\/([^/]+)\/Tablet|liveness\/([^/]+))$/;
const CHANGES_FIELD_TAG = 0x1a; // field 3, length-delimited

/** The alias a tablet path names, and whether it is the record (else the liveness file). */
function tabletPathParts(path: string): { alias: string; record: boolean } {
  const match = TABLET_PATH.exec(path)!;
  return match[1] !== undefined ? { alias: match[1], record: true } : { alias: match[2], record: false };
}

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

function unfiltered(spec: TabletFilterSpec): boolean {
  return spec.keyspace === undefined && spec.shard === undefined && spec.types === undefined;
}

function matches(spec: TabletFilterSpec, fields: { keyspace: string; shard: string; type: number } | undefined): boolean {
  if (!fields) return unfiltered(spec);
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
  const all = unfiltered(spec);
  return (path, contents) => {
    if (!TABLET_PATH.test(path)) return false;
    return all || matches(spec, fieldsOf(path, contents));
  };
}

function entry(change: TabletChange): Buffer {
  return repeatedEntry(CHANGES_FIELD_TAG, TabletChange.encode(change).finish());
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
  if (unfiltered(spec) || event.type === 'delete' || matches(spec, fieldsOf(event.path, event.contents))) {
    return encodeOnce(event, encodeChanged);
  }
  // It passed the hub's filter on its previous value: it left this subscriber's view. A
  // liveness key moving out goes with its record's change in the same transaction.
  return tabletPathParts(event.path).record ? encodeOnce(event, encodeLeft) : undefined;
}

/** Memo per shared object and filter key. */
function memoByKey<T extends object, R>(memo: WeakMap<T, Map<string, R>>, target: T, key: string, compute: () => R): R {
  let byKey = memo.get(target);
  if (!byKey) memo.set(target, (byKey = new Map()));
  if (byKey.has(key)) return byKey.get(key)!;
  const value = compute();
  byKey.set(key, value);
  return value;
}

const batchChanges = new WeakMap<BatchMessage, Map<string, readonly Buffer[]>>();

/** One transaction's encoded changes for this filter: computed once, shared by its subscribers. */
function changesOf(batch: BatchMessage, spec: TabletFilterSpec): readonly Buffer[] {
  return memoByKey(batchChanges, batch, spec.key, () =>
    batch.events.map((event) => encodedChange(event, spec)).filter((c): c is Buffer => c !== undefined),
  );
}

function header(fields: Partial<Omit<WatchTabletsResponse, 'revision'>> & { kind: WatchMessageKind; revision: bigint }): Uint8Array {
  return WatchTabletsResponse.encode({
    resync: false,
    transactions: 0,
    continued: false,
    ...fields,
    revision: fields.revision.toString(),
    changes: [],
  } as WatchTabletsResponse).finish();
}

/** Frames of a CHANGES delivery (see packTransactions). */
function changesFrames(batches: readonly BatchMessage[], spec: TabletFilterSpec): Buffer[] {
  return packTransactions(
    batches.map((batch) => ({ revision: batch.revision, changes: changesOf(batch, spec), resync: batch.resync })),
    (message) => header({ kind: WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES, ...message }),
  );
}

const singleBatchFrames = new WeakMap<BatchMessage, Map<string, readonly Buffer[]>>();

/**
 * The frames that carry `batches` to a subscriber with this filter. The common case, one
 * transaction, is framed once per filter and the same Buffers go to every such stream.
 */
export function batchesFrames(batches: readonly BatchMessage[], spec: TabletFilterSpec): readonly Buffer[] {
  if (batches.length === 1) return memoByKey(singleBatchFrames, batches[0], spec.key, () => changesFrames(batches, spec));
  return changesFrames(batches, spec);
}

const snapshotFramesMemo = new WeakMap<SnapshotMessage, readonly Buffer[]>();

/**
 * A snapshot as SNAPSHOT messages (see packSnapshot). The hub shares one snapshot object
 * per revision and filter, so routers that connect together share these frames too.
 */
export function snapshotFrames(snapshot: SnapshotMessage): readonly Buffer[] {
  let frames = snapshotFramesMemo.get(snapshot);
  if (!frames) {
    // The MARKER ends a snapshot: its messages need no `continued`.
    const head = header({ kind: WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT, revision: snapshot.revision });
    frames = Object.freeze(packSnapshot(snapshot.entries.map((kv) => encodeOnce(kv, encodeSnapshotEntry)), () => head));
    snapshotFramesMemo.set(snapshot, frames);
  }
  return frames;
}

/** A message with no changes (MARKER, BOOKMARK), framed. */
export function emptyFrame(kind: WatchMessageKind, revision: bigint): Buffer {
  return grpcFrame([header({ kind, revision })]);
}

/** A STATUS message, framed. */
export function statusFrame(revision: bigint, backend: BackendStatus): Buffer {
  return grpcFrame([header({ kind: WatchMessageKind.WATCH_MESSAGE_KIND_STATUS, revision, backend })]);
}
