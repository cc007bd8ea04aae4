import { SrvKeyspace } from '../../libs/proto';
import {
  WatchMessageKind,
  type WatchSrvKeyspaceRequest,
  type WatchSrvKeyspaceResponse,
  type WatchSrvVSchemaRequest,
  type WatchSrvVSchemaResponse,
  type WatchTabletsRequest,
  type WatchTabletsResponse,
} from '../../libs/proto/gen/topo/cell/v1/cell';
import { optionalVersion, serverStream, type CallTracker, type StreamWriter } from '../../libs/server';
import { SRV_VSCHEMA_PATH, srvKeyspacePath } from '../../libs/topo';
import type { HubMessage, WatchHub } from '../../libs/watch';
import { encodedBatchMessage, encodedSnapshotEntry, hubFilterFor, tabletFilterSpec, tabletsMessage } from './tablet-watch';

/** Changes per snapshot message, so no message nears the gRPC size limit. */
const SNAPSHOT_CHUNK = 500;

/** Every watch of cell-topo goes through the process's one WatchHub. */
export function watchHandlers(hub: WatchHub, tracker: CallTracker) {
  return {
    watchTablets: serverStream<WatchTabletsRequest, WatchTabletsResponse>(tracker, 'WatchTablets', async (req, write, ctx) => {
      const spec = tabletFilterSpec(req);
      const fromRevision = optionalVersion('from_revision', req.fromRevision) ?? undefined;
      // Pre-encoded buffers go out as they are (see serializeTabletsResponse).
      const send = write as unknown as StreamWriter<Buffer>;
      // Records and liveness live in two directories: the hub's watch of the cell's root
      // keeps a transaction that touches both in one batch.
      const subscription = hub.subscribe('', { fromRevision, filter: hubFilterFor(spec), signal: ctx.signal });
      for await (const message of subscription) {
        switch (message.kind) {
          case 'snapshot': {
            const entries = message.entries.map(encodedSnapshotEntry);
            for (let i = 0; i < entries.length || i === 0; i += SNAPSHOT_CHUNK) {
              await send(tabletsMessage(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT, message.revision, entries.slice(i, i + SNAPSHOT_CHUNK)));
            }
            break;
          }
          case 'marker':
            await send(tabletsMessage(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER, message.revision, []));
            break;
          case 'batch': {
            const encoded = encodedBatchMessage(message, spec);
            if (encoded) await send(encoded);
            break;
          }
          case 'bookmark':
            await send(tabletsMessage(WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK, message.revision, []));
            break;
        }
      }
    }),
    watchSrvKeyspace: serverStream<WatchSrvKeyspaceRequest, WatchSrvKeyspaceResponse>(
      tracker,
      'WatchSrvKeyspace',
      async (req, write, ctx) => {
        const path = srvKeyspacePath(req.keyspace);
        await relayFile(hub, path, optionalVersion('from_revision', req.fromRevision) ?? undefined, ctx.signal, (kind, revision, contents) =>
          write({
            kind,
            revision: revision.toString(),
            srvKeyspace: contents ? SrvKeyspace.decode(contents) : undefined,
            removed: kind !== WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK && kind !== WatchMessageKind.WATCH_MESSAGE_KIND_MARKER && !contents,
          }),
        );
      },
    ),
    watchSrvVSchema: serverStream<WatchSrvVSchemaRequest, WatchSrvVSchemaResponse>(
      tracker,
      'WatchSrvVSchema',
      async (req, write, ctx) => {
        await relayFile(hub, SRV_VSCHEMA_PATH, optionalVersion('from_revision', req.fromRevision) ?? undefined, ctx.signal, (kind, revision, contents) =>
          write({
            kind,
            revision: revision.toString(),
            srvVschema: contents ? Buffer.from(contents) : Buffer.alloc(0),
            removed: kind !== WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK && kind !== WatchMessageKind.WATCH_MESSAGE_KIND_MARKER && !contents,
          }),
        );
      },
    ),
  };
}

/**
 * One file through the hub: its value now (or its absence), a marker, then each change,
 * with bookmarks. The hub watches the file's directory, shared with every other watcher.
 */
async function relayFile(
  hub: WatchHub,
  path: string,
  fromRevision: bigint | undefined,
  signal: AbortSignal,
  send: (kind: WatchMessageKind, revision: bigint, contents: Uint8Array | undefined) => Promise<void>,
): Promise<void> {
  const slash = path.lastIndexOf('/');
  const dir = slash === -1 ? '' : path.slice(0, slash);
  const subscription = hub.subscribe(dir, { fromRevision, filter: (p) => p === path, signal });
  for await (const message of subscription as AsyncIterable<HubMessage>) {
    switch (message.kind) {
      case 'snapshot':
        await send(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT, message.revision, message.entries.find((e) => e.path === path)?.contents);
        break;
      case 'marker':
        await send(WatchMessageKind.WATCH_MESSAGE_KIND_MARKER, message.revision, undefined);
        break;
      case 'batch':
        for (const event of message.events) {
          if (event.path === path) {
            await send(WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES, message.revision, event.type === 'put' ? event.contents : undefined);
          }
        }
        break;
      case 'bookmark':
        await send(WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK, message.revision, undefined);
        break;
    }
  }
}
