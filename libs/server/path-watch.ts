/**
 * The path API's watches, served by the process's watch hub (one backend watch for every
 * watcher), pushed and framed once: a change's frames are built once per watched file or
 * directory and written to every stream that watches it.
 */
import {
  Change,
  ChangeType,
  WatchRecursiveResponse,
  WatchResponse,
  type WatchRecursiveRequest,
  type WatchRequest,
} from '../proto/gen/topo/path/v1/path';
import { noNode, type KVInfo } from '../store';
import { checkDirPath, checkFilePath } from '../store/paths';
import { encodeOnce, type BatchMessage, type HubEvent, type SinkMessage, type SnapshotMessage, type WatchHub } from '../watch';
import { grpcFrame } from './grpc-frames';
import { pushStream, type CallTracker } from './handlers';
import { backendStatusOf, relayHub } from './hub-stream';
import { packSnapshot, packTransactions, repeatedEntry } from './message-packing';
import { optionalVersion } from './versions';

const CHANGES_FIELD_TAG = 0x0a; // WatchRecursiveResponse.changes: field 1, length-delimited

export function pathWatchHandlers(hub: WatchHub, tracker: CallTracker) {
  return {
    watch: pushStream<WatchRequest>(tracker, 'Watch', (req, stream, ctx) => {
      const path = checkFilePath(req.path);
      const slash = path.lastIndexOf('/');
      relayHub(
        hub,
        slash === -1 ? '' : path.slice(0, slash),
        { filter: (p) => p === path, filterKey: `file:${path}`, signal: ctx.signal },
        stream,
        (message, end) => {
          switch (message.kind) {
            case 'snapshot': {
              const current = message.entries.find((entry) => entry.path === path);
              if (!current) {
                end(noNode(path));
                return [];
              }
              return [encodeFileMessage({ contents: Buffer.from(current.contents), version: current.version.toString(), current: true })];
            }
            case 'batches': {
              const out: Buffer[] = [];
              for (const batch of message.batches) {
                for (const event of batch.events) {
                  if (event.path !== path) continue;
                  if (event.type === 'delete') {
                    end(noNode(path));
                    return out;
                  }
                  out.push(encodeOnce(event, fileChangeFrame));
                }
              }
              return out;
            }
            case 'status':
              return [encodeFileMessage(statusFields(message))];
            case 'marker':
            case 'bookmark':
              return [];
          }
        },
      );
    }),
    watchRecursive: pushStream<WatchRecursiveRequest>(tracker, 'WatchRecursive', (req, stream, ctx) => {
      const dir = checkDirPath(req.path);
      const fromRevision = optionalVersion('from_revision', req.fromRevision) ?? undefined;
      relayHub(hub, dir, { fromRevision, signal: ctx.signal }, stream, recursiveFrames);
    }),
  };
}

function encodeFileMessage(fields: Partial<WatchResponse>): Buffer {
  return grpcFrame([WatchResponse.encode(WatchResponse.fromPartial(fields)).finish()]);
}

function statusFields(message: Extract<SinkMessage, { kind: 'status' }>): Partial<WatchResponse> {
  return { backend: backendStatusOf(message) };
}

// One frame per changed value of a watched file, shared by every watcher of the file.
const fileChangeFrame = (event: HubEvent): Buffer =>
  encodeFileMessage({ contents: event.type === 'put' ? Buffer.from(event.contents) : Buffer.alloc(0), version: event.version.toString() });

const encodeChange = (change: HubEvent | KVInfo): Buffer =>
  repeatedEntry(
    CHANGES_FIELD_TAG,
    Change.encode(
      'type' in change && change.type === 'delete'
        ? { type: ChangeType.CHANGE_TYPE_DELETE, path: change.path, contents: Buffer.alloc(0), version: change.version.toString() }
        : { type: ChangeType.CHANGE_TYPE_PUT, path: change.path, contents: Buffer.from((change as KVInfo).contents), version: change.version.toString() },
    ).finish(),
  );

function recursiveHeader(fields: Partial<WatchRecursiveResponse>): Uint8Array {
  return WatchRecursiveResponse.encode(WatchRecursiveResponse.fromPartial({ ...fields, changes: [] })).finish();
}

const snapshotFrames = (snapshot: SnapshotMessage): readonly Buffer[] =>
  packSnapshot(
    snapshot.entries.map((kv) => encodeOnce(kv, encodeChange)),
    (continued) => recursiveHeader({ snapshot: true, revision: snapshot.revision.toString(), continued }),
  );

const batchChanges = (batch: BatchMessage): readonly Buffer[] => batch.events.map((event) => encodeOnce(event, encodeChange));

const singleBatchFrames = (batch: BatchMessage): readonly Buffer[] => changesFrames([batch]);

function changesFrames(batches: readonly BatchMessage[]): Buffer[] {
  return packTransactions(
    batches.map((batch) => ({ revision: batch.revision, changes: encodeOnce(batch, batchChanges), resync: batch.resync })),
    ({ revision, transactions, continued }) => recursiveHeader({ revision: revision.toString(), transactions, continued }),
  );
}

/** Frames for one recursive watcher's message; shared objects give shared frames. */
function recursiveFrames(message: SinkMessage): readonly Buffer[] {
  switch (message.kind) {
    case 'snapshot':
      return encodeOnce(message, snapshotFrames);
    case 'marker':
      return [];
    case 'batches':
      return message.batches.length === 1 ? encodeOnce(message.batches[0], singleBatchFrames) : changesFrames(message.batches);
    case 'bookmark':
      return [grpcFrame([recursiveHeader({ revision: message.revision.toString() })])];
    case 'status':
      return [
        grpcFrame([
          recursiveHeader({ revision: message.revision.toString(), backend: backendStatusOf(message) }),
        ]),
      ];
  }
}
