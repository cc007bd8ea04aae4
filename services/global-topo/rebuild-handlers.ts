import { credentials, status } from '@grpc/grpc-js';
import { unaryCall } from '../../libs/client/unary-call';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import type * as api from '../../libs/proto/gen/topo/global/v1/global';
import { StatusError, unary, type CallTracker } from '../../libs/server';
import { TopoError, TopoErrorCode } from '../../libs/store';
import { computeSrvKeyspace, computeSrvVSchema, validateCellName, type GlobalTopology } from '../../libs/topo';

/**
 * Serving-graph rebuilds: computed here from the global records, written into each cell
 * through that cell's cell-topo (its address comes from CellInfo), never into cell etcd.
 */
export function rebuildHandlers(topo: GlobalTopology, tracker: CallTracker) {
  const clients = new Map<string, CellTopoServiceClient>();
  tracker.onShutdown(async () => {
    for (const client of clients.values()) client.close();
  });

  const cellClient = async (cell: string): Promise<CellTopoServiceClient> => {
    const { cellInfo } = await topo.cells.get(cell);
    let client = clients.get(cellInfo.serverAddress);
    if (!client) {
      client = new CellTopoServiceClient(cellInfo.serverAddress, credentials.createInsecure());
      clients.set(cellInfo.serverAddress, client);
    }
    return client;
  };

  const cellsOf = async (requested: string[]): Promise<string[]> =>
    requested.length > 0 ? requested.map((cell, i) => validateCellName(cell, `cells[${i}]`)) : topo.cells.list();

  const inCell = async <T>(cell: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (err) {
      if (err instanceof TopoError || err instanceof StatusError) throw err;
      const { code, details } = err as { code?: number; details?: string };
      throw new StatusError(code === status.UNAVAILABLE ? status.UNAVAILABLE : status.FAILED_PRECONDITION, `cell ${cell}: ${details ?? String(err)}`);
    }
  };

  return {
    rebuildKeyspaceGraph: unary<api.RebuildKeyspaceGraphRequest, api.RebuildKeyspaceGraphResponse>(
      tracker,
      'RebuildKeyspaceGraph',
      async (req) => {
        const { keyspace } = await topo.keyspaces.get(req.keyspace);
        const shards = await topo.shards.findAll(req.keyspace);
        const results: api.CellResult[] = [];
        for (const cell of await cellsOf(req.cells)) {
          const client = await cellClient(cell);
          const current = await inCell(cell, () =>
            unaryCall(client.getSrvKeyspace.bind(client), { keyspace: req.keyspace }).then(
              (r) => r.srvKeyspace,
              (err: { code?: number }) => {
                if (err.code === status.NOT_FOUND) return undefined;
                throw err;
              },
            ),
          );
          const srvKeyspace = computeSrvKeyspace(keyspace, shards, cell, current);
          const written = await inCell(cell, () =>
            unaryCall(client.updateSrvKeyspace.bind(client), { keyspace: req.keyspace, srvKeyspace }),
          );
          results.push({ cell, version: written.version });
        }
        return { cells: results };
      },
    ),
    rebuildVSchemaGraph: unary<api.RebuildVSchemaGraphRequest, api.RebuildVSchemaGraphResponse>(
      tracker,
      'RebuildVSchemaGraph',
      async (req) => {
        // Every keyspace, with or without a vschema (Vitess gives one without an empty vschema).
        const vschemas = new Map<string, Uint8Array | undefined>();
        for (const keyspace of await topo.keyspaces.list()) {
          try {
            vschemas.set(keyspace, (await topo.vschemas.get(keyspace)).vschema);
          } catch (err) {
            if (!TopoError.is(err, TopoErrorCode.NoNode)) throw err;
            vschemas.set(keyspace, undefined);
          }
        }
        const srvVschema = Buffer.from(computeSrvVSchema(vschemas, await topo.routingRules.serving()));
        const results: api.CellResult[] = [];
        for (const cell of await cellsOf(req.cells)) {
          const client = await cellClient(cell);
          const written = await inCell(cell, () => unaryCall(client.updateSrvVSchema.bind(client), { srvVschema }));
          results.push({ cell, version: written.version });
        }
        return { cells: results };
      },
    ),
  };
}
