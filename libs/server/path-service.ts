import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  EntryType,
  PathServiceService,
  type CreateRequest,
  type CreateResponse,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetRootRequest,
  type GetRootResponse,
  type GetResponse,
  type GetVersionRequest,
  type GetVersionResponse,
  type ListDirRequest,
  type ListDirResponse,
  type ListRequest,
  type ListResponse,
  type UpdateRequest,
  type UpdateResponse,
} from '../proto/gen/topo/path/v1/path';
import { fromVitessPath, fromVitessPrefix, noNode, type Store } from '../store';
import { validateRecordContents } from '../topo';
import type { WatchHub } from '../watch';
import { unary, type CallTracker } from './handlers';
import { pathWatchHandlers } from './path-watch';
import { optionalVersion, requireRevision, wireVersion } from './versions';
import { readPage } from './paging';

export const PATH_SERVICE_NAME = 'topo.path.v1.PathService';

/**
 * The raw topology API over one store root, with topo.Conn semantics. Shared by
 * global-topo and cell-topo; paths arrive in Vitess's forms (`withVitessPaths`) and are
 * validated by the store itself.
 */
export function pathService(
  store: Store,
  tracker: CallTracker,
  hub: WatchHub,
): { definition: typeof PathServiceService; implementation: UntypedServiceImplementation } {
  const implementation = withVitessPaths({
    getRoot: unary<GetRootRequest, GetRootResponse>(tracker, 'GetRoot', async () => ({ root: store.root, backend: store.backend })),
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
    list: unary<ListRequest, ListResponse>(tracker, 'List', async (req) => {
      const page = await readPage(
        store,
        req.prefix,
        `list:${req.prefix}`,
        req,
        (kv) => ({ path: kv.path, contents: Buffer.from(kv.contents), version: wireVersion(kv.version), key: `${store.root}/${kv.path}` }),
        (kv) => kv.key.length + kv.path.length + kv.contents.byteLength + 16,
      );
      // Vitess's List answers NoNode when nothing matches.
      if (req.pageToken === '' && page.items.length === 0) throw noNode(req.prefix);
      return { kvs: page.items, nextPageToken: page.nextPageToken, revision: wireVersion(page.revision) };
    }),
    // A record path takes only a valid record of its kind (docs/security.md): nothing is written otherwise.
    create: unary<CreateRequest, CreateResponse>(tracker, 'Create', async (req) => {
      validateRecordContents(req.path, req.contents);
      return { version: wireVersion(await store.create(req.path, req.contents)) };
    }),
    update: unary<UpdateRequest, UpdateResponse>(tracker, 'Update', async (req) => {
      validateRecordContents(req.path, req.contents);
      return { version: wireVersion(await store.update(req.path, req.contents, optionalVersion('version', req.version))) };
    }),
    delete: unary<DeleteRequest, DeleteResponse>(tracker, 'Delete', async (req) => {
      await store.delete(req.path, optionalVersion('version', req.version));
      return {};
    }),
    // Watches go through the process's watch hub: one backend watch for every watcher.
    ...pathWatchHandlers(hub, tracker),
  });
  return { definition: PathServiceService, implementation };
}

/**
 * Maps each request's path from the forms Vitess passes (a leading '/', '/' for the root, a
 * trailing '/') to the store's, before any handler sees it: `path` fields as
 * `fromVitessPath`, List's `prefix` as `fromVitessPrefix`. One place for every RPC, so the
 * file, directory, list and watch handlers cannot disagree about what a path means.
 */
function withVitessPaths<T extends Record<string, (call: never, ...rest: never[]) => void>>(handlers: T): T {
  type Handler = (call: { request: { path?: unknown; prefix?: unknown } }, ...rest: unknown[]) => void;
  const mapped: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(handlers) as Array<[string, Handler]>) {
    mapped[name] = (call, ...rest) => {
      const request = call.request;
      if (typeof request.path === 'string') request.path = fromVitessPath(request.path);
      if (typeof request.prefix === 'string') request.prefix = fromVitessPrefix(request.prefix);
      handler(call, ...rest);
    };
  }
  return mapped as unknown as T;
}
