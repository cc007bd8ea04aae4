import { SrvKeyspace } from '../../libs/proto';
import type * as api from '../../libs/proto/gen/topo/cell/v1/cell';
import { unary, wireVersion, type CallTracker } from '../../libs/server';
import type { CellTopology } from '../../libs/topo';

/** The serving graph of the cell: written by global-topo's rebuilds, read by routers. */
export function servingHandlers(topo: CellTopology, tracker: CallTracker) {
  return {
    getSrvKeyspace: unary<api.GetSrvKeyspaceRequest, api.GetSrvKeyspaceResponse>(tracker, 'GetSrvKeyspace', async (req) => {
      const record = await topo.srvKeyspaces.get(req.keyspace);
      return { srvKeyspace: record.srvKeyspace, version: wireVersion(record.version) };
    }),
    listSrvKeyspaces: unary<api.ListSrvKeyspacesRequest, api.ListSrvKeyspacesResponse>(tracker, 'ListSrvKeyspaces', async () => ({
      names: await topo.srvKeyspaces.list(),
    })),
    updateSrvKeyspace: unary<api.UpdateSrvKeyspaceRequest, api.UpdateSrvKeyspaceResponse>(
      tracker,
      'UpdateSrvKeyspace',
      async (req) => ({
        version: wireVersion(await topo.srvKeyspaces.save(req.keyspace, SrvKeyspace.fromPartial(req.srvKeyspace ?? {}))),
      }),
    ),
    deleteSrvKeyspace: unary<api.DeleteSrvKeyspaceRequest, api.DeleteSrvKeyspaceResponse>(tracker, 'DeleteSrvKeyspace', async (req) => {
      await topo.srvKeyspaces.delete(req.keyspace);
      return {};
    }),
    getSrvVSchema: unary<api.GetSrvVSchemaRequest, api.GetSrvVSchemaResponse>(tracker, 'GetSrvVSchema', async () => {
      const record = await topo.srvVSchemas.get();
      return { srvVschema: Buffer.from(record.srvVSchema), version: wireVersion(record.version) };
    }),
    updateSrvVSchema: unary<api.UpdateSrvVSchemaRequest, api.UpdateSrvVSchemaResponse>(tracker, 'UpdateSrvVSchema', async (req) => ({
      version: wireVersion(await topo.srvVSchemas.save(req.srvVschema)),
    })),
  };
}
