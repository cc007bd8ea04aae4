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
import type { Store } from '../store';
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
        const watch = await store.watchRecursive(req.path, { signal, fromRevision: fromRevision ?? undefined });
        if (fromRevision === null) {
          await write({
            snapshot: true,
            revision: wireVersion(watch.revision),
            changes: watch.current.map(
              (kv): Change => ({
                type: ChangeType.CHANGE_TYPE_PUT,
                path: kv.path,
                contents: Buffer.from(kv.contents),
                version: wireVersion(kv.version),
              }),
            ),
          });
        }
        for await (const batch of watch.changes) {
          await write({
            snapshot: false,
            revision: wireVersion(batch.revision),
            changes: batch.changes.map(
              (change): Change =>
                change.type === 'put'
                  ? {
                      type: ChangeType.CHANGE_TYPE_PUT,
                      path: change.path,
                      contents: Buffer.from(change.contents),
                      version: wireVersion(change.version),
                    }
                  : {
                      type: ChangeType.CHANGE_TYPE_DELETE,
                      path: change.path,
                      contents: Buffer.alloc(0),
                      version: wireVersion(change.version),
                    },
            ),
          });
        }
      },
    ),
  };
  return { definition: PathServiceService, implementation };
}
