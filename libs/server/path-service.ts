import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ChangeType,
  EntryType,
  PathServiceService,
  type Change,
  type CreateRequest,
  type CreateResponse,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  type GetVersionRequest,
  type GetVersionResponse,
  type ListDirRequest,
  type ListDirResponse,
  type ListRequest,
  type ListResponse,
  type UpdateRequest,
  type UpdateResponse,
  type WatchRecursiveRequest,
  type WatchRecursiveResponse,
  type WatchRequest,
  type WatchResponse,
} from '../proto/gen/topo/path/v1/path';
import { noNode, type RecursiveChange, type Store } from '../store';
import { checkDirPath, checkFilePath } from '../store/paths';
import type { HubEvent, WatchHub } from '../watch';
import { serverStream, unary, type CallTracker } from './handlers';
import { optionalVersion, requireRevision, wireVersion } from './versions';

export const PATH_SERVICE_NAME = 'topo.path.v1.PathService';

/**
 * The raw topology API over one store root, with topo.Conn semantics. Shared by
 * global-topo and cell-topo; paths are validated by the store itself.
 */
export function pathService(
  store: Store,
  tracker: CallTracker,
  hub?: WatchHub,
): { definition: typeof PathServiceService; implementation: UntypedServiceImplementation } {
  const implementation = {
    listDir: unary<ListDirRequest, ListDirResponse>(tracker, 'ListDir', async (req) => ({
      entries: (await store.listDir(req.path)).map((entry) => ({
        name: entry.name,
        type: entry.type === 'file' ? EntryType.ENTRY_TYPE_FILE : EntryType.ENTRY_TYPE_DIRECTORY,
        ephemeral: entry.ephemeral,
      })),
    })),
    get: unary<GetRequest, GetResponse>(tracker, 'Get', async (req) => {
      const value = await store.get(req.path);
      return { contents: Buffer.from(value.contents), version: wireVersion(value.version) };
    }),
    getVersion: unary<GetVersionRequest, GetVersionResponse>(tracker, 'GetVersion', async (req) => ({
      contents: Buffer.from(await store.getVersion(req.path, requireRevision('version', req.version))),
    })),
    list: unary<ListRequest, ListResponse>(tracker, 'List', async (req) => ({
      kvs: (await store.list(req.prefix)).map((kv) => ({
        path: kv.path,
        contents: Buffer.from(kv.contents),
        version: wireVersion(kv.version),
      })),
    })),
    create: unary<CreateRequest, CreateResponse>(tracker, 'Create', async (req) => ({
      version: wireVersion(await store.create(req.path, req.contents)),
    })),
    update: unary<UpdateRequest, UpdateResponse>(tracker, 'Update', async (req) => ({
      version: wireVersion(await store.update(req.path, req.contents, optionalVersion('version', req.version))),
    })),
    delete: unary<DeleteRequest, DeleteResponse>(tracker, 'Delete', async (req) => {
      await store.delete(req.path, optionalVersion('version', req.version));
      return {};
    }),
    watch: serverStream<WatchRequest, WatchResponse>(tracker, 'Watch', async (req, write, { signal }) => {
      if (hub) return watchFileThroughHub(hub, req.path, write, signal);
      const watch = await store.watch(req.path, { signal });
      await write({ contents: Buffer.from(watch.current.contents), version: wireVersion(watch.current.version), current: true });
      for await (const change of watch.changes) {
        await write({ contents: Buffer.from(change.contents), version: wireVersion(change.version), current: false });
      }
    }),
    watchRecursive: serverStream<WatchRecursiveRequest, WatchRecursiveResponse>(
      tracker,
      'WatchRecursive',
      async (req, write, { signal }) => {
        const fromRevision = optionalVersion('from_revision', req.fromRevision);
        if (hub) return watchDirThroughHub(hub, req.path, fromRevision ?? undefined, write, signal);
        const watch = await store.watchRecursive(req.path, { signal, fromRevision: fromRevision ?? undefined });
        if (fromRevision === null) {
          await write({
            snapshot: true,
            revision: wireVersion(watch.revision),
            changes: watch.current.map(putChange),
          });
        }
        for await (const batch of watch.changes) {
          await write({
            snapshot: false,
            revision: wireVersion(batch.revision),
            changes: batch.changes.map(toChange),
          });
        }
      },
    ),
  };
  return { definition: PathServiceService, implementation };
}

function putChange(kv: { path: string; contents: Uint8Array; version: bigint }): Change {
  return { type: ChangeType.CHANGE_TYPE_PUT, path: kv.path, contents: Buffer.from(kv.contents), version: wireVersion(kv.version) };
}

/** One change on the wire, from the store's watch or the hub's: they have the same shape. */
function toChange(change: RecursiveChange | HubEvent): Change {
  return change.type === 'put'
    ? putChange(change)
    : { type: ChangeType.CHANGE_TYPE_DELETE, path: change.path, contents: Buffer.alloc(0), version: wireVersion(change.version) };
}

/** A file's watch served by the hub: its directory's one backend watch, filtered to the file. */
async function watchFileThroughHub(
  hub: WatchHub,
  path: string,
  write: (message: WatchResponse) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  checkFilePath(path);
  const slash = path.lastIndexOf('/');
  const subscription = hub.subscribe(slash === -1 ? '' : path.slice(0, slash), { filter: (p) => p === path, signal });
  for await (const message of subscription) {
    if (message.kind === 'snapshot') {
      const current = message.entries.find((e) => e.path === path);
      if (!current) throw noNode(path);
      await write({ contents: Buffer.from(current.contents), version: wireVersion(current.version), current: true });
    } else if (message.kind === 'batch') {
      for (const event of message.events) {
        if (event.path !== path) continue;
        if (event.type === 'delete') throw noNode(path);
        await write({ contents: Buffer.from(event.contents), version: wireVersion(event.version), current: false });
      }
    }
  }
}

/** A directory's recursive watch served by the hub; bookmarks go out as empty messages. */
async function watchDirThroughHub(
  hub: WatchHub,
  path: string,
  fromRevision: bigint | undefined,
  write: (message: WatchRecursiveResponse) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  checkDirPath(path);
  for await (const message of hub.subscribe(path, { fromRevision, signal })) {
    switch (message.kind) {
      case 'snapshot':
        await write({
          snapshot: true,
          revision: wireVersion(message.revision),
          changes: message.entries.map(putChange),
        });
        break;
      case 'batch':
        await write({ snapshot: false, revision: wireVersion(message.revision), changes: message.events.map(toChange) });
        break;
      case 'bookmark':
        await write({ snapshot: false, revision: wireVersion(message.revision), changes: [] });
        break;
      case 'marker':
        break;
    }
  }
}
