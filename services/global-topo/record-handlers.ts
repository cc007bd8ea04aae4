import { CellInfo, CellsAlias, Keyspace, type Shard } from '../../libs/proto';
import type * as api from '../../libs/proto/gen/topo/global/v1/global';
import { invalidArgument, optionalVersion, reportSkipped, unary, wireVersion, type CallTracker } from '../../libs/server';
import type { Fence } from '../../libs/store';
import type { FieldUpdate, GlobalTopology } from '../../libs/topo';
import { fenceOf } from './request-fields';

const version = (raw: string): bigint | undefined => optionalVersion('version', raw) ?? undefined;

interface ReplaceableRecords<T> {
  update(name: string, value: T, version: bigint, options: { fence?: Fence }): Promise<bigint>;
  updateFields(name: string, change: FieldUpdate<T>, options: { fence?: Fence }): Promise<{ version: bigint }>;
}

/** Replaces a record: compare-and-swap at the version given, or over whatever is there (0). */
async function replace<T extends object>(
  records: ReplaceableRecords<T>,
  name: string,
  value: T,
  rawVersion: string,
  fence?: Fence,
): Promise<{ version: string }> {
  const expected = version(rawVersion);
  if (expected !== undefined) return { version: wireVersion(await records.update(name, value, expected, { fence })) };
  const record = await records.updateFields(name, (current) => void Object.assign(current, value), { fence });
  return { version: wireVersion(record.version) };
}

/** Keyspaces, shards, cells, cells aliases, vschema and routing rules: each RPC one libs/topo call. */
export function recordHandlers(topo: GlobalTopology, tracker: CallTracker) {
  return {
    createKeyspace: unary<api.CreateKeyspaceRequest, api.CreateKeyspaceResponse>(tracker, 'CreateKeyspace', async (req) => ({
      version: wireVersion(await topo.keyspaces.create(req.name, Keyspace.fromPartial(req.keyspace ?? {}))),
    })),
    getKeyspace: unary<api.GetKeyspaceRequest, api.GetKeyspaceResponse>(tracker, 'GetKeyspace', async (req) => {
      const record = await topo.keyspaces.get(req.name);
      return { keyspace: record.keyspace, version: wireVersion(record.version) };
    }),
    listKeyspaces: unary<api.ListKeyspacesRequest, api.ListKeyspacesResponse>(tracker, 'ListKeyspaces', async () => ({
      names: await topo.keyspaces.list(),
    })),
    updateKeyspace: unary<api.UpdateKeyspaceRequest, api.UpdateKeyspaceResponse>(tracker, 'UpdateKeyspace', async (req) => {
      const value = Keyspace.fromPartial(req.keyspace ?? {});
      const fence = fenceOf(req.fence);
      return replace(topo.keyspaces, req.name, value, req.version, fence);
    }),
    deleteKeyspace: unary<api.DeleteKeyspaceRequest, api.DeleteKeyspaceResponse>(tracker, 'DeleteKeyspace', async (req) => {
      await topo.keyspaces.delete(req.name, { recursive: req.recursive });
      return {};
    }),

    createShard: unary<api.CreateShardRequest, api.CreateShardResponse>(tracker, 'CreateShard', async (req, ctx) => {
      const record = await topo.shards.create(req.keyspace, req.name, { signal: ctx.signal });
      return { shard: record.shard, version: wireVersion(record.version) };
    }),
    getShard: unary<api.GetShardRequest, api.GetShardResponse>(tracker, 'GetShard', async (req) => {
      const record = await topo.shards.get(req.keyspace, req.name);
      return { shard: record.shard, version: wireVersion(record.version) };
    }),
    listShards: unary<api.ListShardsRequest, api.ListShardsResponse>(tracker, 'ListShards', async (req, ctx) => {
      const skipped: string[] = [];
      const names = await topo.shards.list(req.keyspace, skipped);
      return { names, undecodable: reportSkipped(ctx, 'ListShards', skipped) };
    }),
    updateShardFields: unary<api.UpdateShardFieldsRequest, api.UpdateShardFieldsResponse>(
      tracker,
      'UpdateShardFields',
      async (req) => {
        if (req.primaryAlias && req.clearPrimaryAlias) {
          throw invalidArgument('clear_primary_alias', 'cannot be set together with primary_alias');
        }
        const change = (shard: Shard): void => {
          if (req.primaryAlias) shard.primaryAlias = req.primaryAlias;
          if (req.clearPrimaryAlias) shard.primaryAlias = undefined;
          if (req.primaryTermStartTime) shard.primaryTermStartTime = req.primaryTermStartTime;
          if (req.isPrimaryServing !== undefined) shard.isPrimaryServing = req.isPrimaryServing;
        };
        const record = await topo.shards.updateFields(req.keyspace, req.name, change, {
          version: version(req.version),
          fence: fenceOf(req.fence),
        });
        return { shard: record.shard, version: wireVersion(record.version) };
      },
    ),
    deleteShard: unary<api.DeleteShardRequest, api.DeleteShardResponse>(tracker, 'DeleteShard', async (req) => {
      await topo.shards.delete(req.keyspace, req.name);
      return {};
    }),

    createCellInfo: unary<api.CreateCellInfoRequest, api.CreateCellInfoResponse>(tracker, 'CreateCellInfo', async (req) => ({
      version: wireVersion(await topo.cells.create(req.name, CellInfo.fromPartial(req.cellInfo ?? {}))),
    })),
    getCellInfo: unary<api.GetCellInfoRequest, api.GetCellInfoResponse>(tracker, 'GetCellInfo', async (req) => {
      const record = await topo.cells.get(req.name);
      return { cellInfo: record.cellInfo, version: wireVersion(record.version) };
    }),
    listCellInfos: unary<api.ListCellInfosRequest, api.ListCellInfosResponse>(tracker, 'ListCellInfos', async () => ({
      names: await topo.cells.list(),
    })),
    updateCellInfo: unary<api.UpdateCellInfoRequest, api.UpdateCellInfoResponse>(tracker, 'UpdateCellInfo', async (req) => {
      const value = CellInfo.fromPartial(req.cellInfo ?? {});
      return replace(topo.cells, req.name, value, req.version);
    }),
    deleteCellInfo: unary<api.DeleteCellInfoRequest, api.DeleteCellInfoResponse>(tracker, 'DeleteCellInfo', async (req) => {
      await topo.cells.delete(req.name, { force: req.force });
      return {};
    }),

    createCellsAlias: unary<api.CreateCellsAliasRequest, api.CreateCellsAliasResponse>(tracker, 'CreateCellsAlias', async (req) => ({
      version: wireVersion(await topo.cellsAliases.create(req.name, CellsAlias.fromPartial(req.cellsAlias ?? {}))),
    })),
    getCellsAlias: unary<api.GetCellsAliasRequest, api.GetCellsAliasResponse>(tracker, 'GetCellsAlias', async (req) => {
      const record = await topo.cellsAliases.get(req.name);
      return { cellsAlias: record.cellsAlias, version: wireVersion(record.version) };
    }),
    listCellsAliases: unary<api.ListCellsAliasesRequest, api.ListCellsAliasesResponse>(tracker, 'ListCellsAliases', async (_req, ctx) => {
      const skipped: string[] = [];
      const names = await topo.cellsAliases.list(skipped);
      return { names, undecodable: reportSkipped(ctx, 'ListCellsAliases', skipped) };
    }),
    updateCellsAlias: unary<api.UpdateCellsAliasRequest, api.UpdateCellsAliasResponse>(tracker, 'UpdateCellsAlias', async (req) => {
      const value = CellsAlias.fromPartial(req.cellsAlias ?? {});
      return replace(topo.cellsAliases, req.name, value, req.version);
    }),
    deleteCellsAlias: unary<api.DeleteCellsAliasRequest, api.DeleteCellsAliasResponse>(tracker, 'DeleteCellsAlias', async (req) => {
      await topo.cellsAliases.delete(req.name);
      return {};
    }),

    getVSchema: unary<api.GetVSchemaRequest, api.GetVSchemaResponse>(tracker, 'GetVSchema', async (req) => {
      const record = await topo.vschemas.get(req.keyspace);
      return { vschema: Buffer.from(record.vschema), version: wireVersion(record.version) };
    }),
    saveVSchema: unary<api.SaveVSchemaRequest, api.SaveVSchemaResponse>(tracker, 'SaveVSchema', async (req) => ({
      version: wireVersion(await topo.vschemas.save(req.keyspace, req.vschema, { version: version(req.version) })),
    })),
    deleteVSchema: unary<api.DeleteVSchemaRequest, api.DeleteVSchemaResponse>(tracker, 'DeleteVSchema', async (req) => {
      await topo.vschemas.delete(req.keyspace);
      return {};
    }),
    getRoutingRules: unary<api.GetRoutingRulesRequest, api.GetRoutingRulesResponse>(tracker, 'GetRoutingRules', async () => {
      const record = await topo.routingRules.get();
      return { routingRules: Buffer.from(record.routingRules), version: wireVersion(record.version) };
    }),
    saveRoutingRules: unary<api.SaveRoutingRulesRequest, api.SaveRoutingRulesResponse>(tracker, 'SaveRoutingRules', async (req) => ({
      version: wireVersion(await topo.routingRules.save(req.routingRules, { version: version(req.version) })),
    })),
  };
}
