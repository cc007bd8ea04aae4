import { SrvKeyspace } from '../../libs/proto';
import {
  WatchMessageKind,
  WatchSrvKeyspaceResponse,
  WatchSrvVSchemaResponse,
  type WatchSrvKeyspaceRequest,
  type WatchSrvVSchemaRequest,
  type WatchTabletsRequest,
} from '../../libs/proto/gen/topo/cell/v1/cell';
import { backendStatusOf, grpcFrame, optionalVersion, pushStream, relayHub, type CallTracker } from '../../libs/server';
import { SRV_VSCHEMA_PATH, srvKeyspacePath } from '../../libs/topo';
import type { BatchMessage, SinkMessage, WatchHub } from '../../libs/watch';
import {
  TABLET_WATCH_DIRS,
  batchesFrames,
  emptyFrame,
  hubFilterFor,
  snapshotFrames,
  statusFrame,
  tabletFilterSpec,
} from './tablet-watch';

/** Every watch of cell-topo goes through the process's one WatchHub, pushed and framed once. */
export function watchHandlers(hub: WatchHub, tracker: CallTracker) {
  return {
    watchTablets: pushStream<WatchTabletsRequest>(tracker, 'WatchTablets', (req, stream, ctx) => {
      const spec = tabletFilterSpec(req);
      const fromRevision = optionalVersion('from_revision', req.fromRevision) ?? undefined;
      // Records and liveness live in two directories: one watch of the cell's root keeps a
      // transaction that touches both in one batch.
      relayHub(
        hub,
        TABLET_WATCH_DIRS,
        { fromRevision, filter: hubFilterFor(spec), filterKey: spec.key, signal: ctx.signal },
        stream,
        (message: SinkMessage): readonly Buffer[] => {
          switch (message.kind) {
            case 'snapshot':
              return snapshotFrames(message);
            case 'marker':
              return [emptyFrame(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER, message.revision)];
            case 'batches':
              return batchesFrames(message.batches, spec);
            case 'bookmark':
              return [emptyFrame(WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK, message.revision)];
            case 'status':
              return [statusFrame(message.revision, backendStatusOf(message))];
          }
        },
      );
    }),
    watchSrvKeyspace: pushStream<WatchSrvKeyspaceRequest>(tracker, 'WatchSrvKeyspace', (req, stream, ctx) => {
      const fromRevision = optionalVersion('from_revision', req.fromRevision) ?? undefined;
      relayFile(hub, srvKeyspacePath(req.keyspace), fromRevision, ctx.signal, stream, encodeSrvKeyspace);
    }),
    watchSrvVSchema: pushStream<WatchSrvVSchemaRequest>(tracker, 'WatchSrvVSchema', (req, stream, ctx) => {
      const fromRevision = optionalVersion('from_revision', req.fromRevision) ?? undefined;
      relayFile(hub, SRV_VSCHEMA_PATH, fromRevision, ctx.signal, stream, encodeSrvVSchema);
    }),
  };
}

const encodeSrvKeyspace: FileMessageEncoder = (kind, revision, contents, status) =>
  WatchSrvKeyspaceResponse.encode({
    kind,
    revision: revision.toString(),
    srvKeyspace: contents ? decodedSrvKeyspace(contents) : undefined,
    // A value that does not decode (written around the path API's checks) reads as absent.
    removed: removedFor(kind, contents && decodedSrvKeyspace(contents)),
    backend: status,
  }).finish();

const encodeSrvVSchema: FileMessageEncoder = (kind, revision, contents, status) =>
  WatchSrvVSchemaResponse.encode({
    kind,
    revision: revision.toString(),
    srvVschema: contents ? Buffer.from(contents) : Buffer.alloc(0),
    removed: removedFor(kind, contents),
    backend: status,
  }).finish();

function decodedSrvKeyspace(contents: Uint8Array): SrvKeyspace | undefined {
  try {
    return SrvKeyspace.decode(contents);
  } catch {
    return undefined;
  }
}

function removedFor(kind: WatchMessageKind, contents: object | undefined): boolean {
  return (kind === WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT || kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) && !contents;
}

type FileMessageEncoder = (
  kind: WatchMessageKind,
  revision: bigint,
  contents: Uint8Array | undefined,
  status: { reachable: boolean; unreachableSince?: Date } | undefined,
) => Uint8Array;

/**
 * One file through the hub: its value now (or its absence), a marker, then each change,
 * with bookmarks and backend status. The hub watches the cell's root once for every
 * watcher; a change's frames are built once per file and shared by its watchers.
 */
function relayFile(
  hub: WatchHub,
  path: string,
  fromRevision: bigint | undefined,
  signal: AbortSignal,
  stream: Parameters<typeof relayHub>[3],
  encode: FileMessageEncoder,
): void {
  const slash = path.lastIndexOf('/');
  const dir = slash === -1 ? '' : path.slice(0, slash);
  const frame = (kind: WatchMessageKind, revision: bigint, contents?: Uint8Array, status?: { reachable: boolean; unreachableSince?: Date }) =>
    grpcFrame([encode(kind, revision, contents, status)]);
  const changeFrames = (batch: BatchMessage): Buffer[] =>
    batch.events
      .filter((event) => event.path === path)
      .map((event) => frame(WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES, batch.revision, event.type === 'put' ? event.contents : undefined));
  const memo = fileFrames(encode, path);
  relayHub(hub, dir, { fromRevision, filter: (p) => p === path, filterKey: `file:${path}`, signal }, stream, (message) => {
    switch (message.kind) {
      case 'snapshot':
        return [frame(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT, message.revision, message.entries.find((e) => e.path === path)?.contents)];
      case 'marker':
        return [frame(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER, message.revision)];
      case 'batches':
        return message.batches.flatMap((batch) => memo(batch, changeFrames));
      case 'bookmark':
        return [frame(WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK, message.revision)];
      case 'status':
        return [
          frame(WatchMessageKind.WATCH_MESSAGE_KIND_STATUS, message.revision, undefined, backendStatusOf(message)),
        ];
    }
  });
}

// The frames of one batch for one watched file, shared by every watcher of that file.
const fileFrameMemos = new WeakMap<FileMessageEncoder, Map<string, WeakMap<BatchMessage, Buffer[]>>>();

function fileFrames(encode: FileMessageEncoder, path: string): (batch: BatchMessage, build: (batch: BatchMessage) => Buffer[]) => Buffer[] {
  let byPath = fileFrameMemos.get(encode);
  if (!byPath) fileFrameMemos.set(encode, (byPath = new Map()));
  let byBatch = byPath.get(path);
  if (!byBatch) byPath.set(path, (byBatch = new WeakMap()));
  const memo = byBatch;
  return (batch, build) => {
    let frames = memo.get(batch);
    if (!frames) memo.set(batch, (frames = build(batch)));
    return frames;
  };
}
