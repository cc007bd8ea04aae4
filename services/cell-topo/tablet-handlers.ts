import type { GlobalView } from '../../libs/client/global-view';
import { Tablet, TabletType } from '../../libs/proto';
import type * as api from '../../libs/proto/gen/topo/cell/v1/cell';
import { invalidArgument, optionalVersion, reportSkipped, unary, wireVersion, type CallTracker } from '../../libs/server';
import { MAX_PAGE_BYTES, decodePageToken, encodePageToken, pageSizeOf } from '../../libs/server/paging';
import { parseTabletAlias, type CellTopology, type TabletRecord } from '../../libs/topo';
import { checkTabletInGlobal } from './global-check';

export function tabletRecordMessage(record: TabletRecord): api.TabletRecord {
  return { tablet: record.tablet, version: wireVersion(record.version), alive: record.alive };
}

export function tabletTypes(types: TabletType[], field: string): TabletType[] {
  for (const type of types) {
    if (!(type in TabletType) || type === TabletType.UNKNOWN) throw invalidArgument(field, `unknown tablet type ${String(type)}`);
  }
  return types;
}

/** Tablet records and the replication graph: each RPC one libs/topo call. */
export function tabletHandlers(topo: CellTopology, view: GlobalView, tracker: CallTracker) {
  return {
    createTablet: unary<api.CreateTabletRequest, api.CreateTabletResponse>(tracker, 'CreateTablet', async (req) => {
      if (!req.tablet) throw invalidArgument('tablet', 'is required');
      checkTabletInGlobal(view, req.tablet);
      return { version: wireVersion((await topo.tablets.create(Tablet.fromPartial(req.tablet))).version) };
    }),
    getTablet: unary<api.GetTabletRequest, api.GetTabletResponse>(tracker, 'GetTablet', async (req) => {
      const record = await topo.tablets.get(parseTabletAlias(req.alias, 'alias'));
      return { tablet: record.tablet, version: wireVersion(record.version), alive: record.alive };
    }),
    listTablets: unary<api.ListTabletsRequest, api.ListTabletsResponse>(tracker, 'ListTablets', async (req, ctx) => {
      const filter = {
        keyspace: req.keyspace || undefined,
        shard: req.shard || undefined,
        types: tabletTypes(req.tabletTypes, 'tablet_types'),
      };
      const scope = `tablets:${req.keyspace}/${req.shard}/${[...filter.types].sort().join(',')}`;
      const cursor = decodePageToken(scope, req.pageToken);
      const skipped: string[] = [];
      const page = await topo.tablets.listPage(
        filter,
        { limit: pageSizeOf(req.pageSize), maxBytes: MAX_PAGE_BYTES, after: cursor?.after, revision: cursor?.revision },
        skipped,
      );
      const next = page.more && page.last !== undefined ? encodePageToken(scope, { revision: page.revision, after: page.last }) : '';
      return {
        tablets: page.records.map(tabletRecordMessage),
        nextPageToken: next,
        revision: wireVersion(page.revision),
        undecodable: reportSkipped(ctx, 'ListTablets', skipped),
      };
    }),
    updateTabletFields: unary<api.UpdateTabletFieldsRequest, api.UpdateTabletFieldsResponse>(
      tracker,
      'UpdateTabletFields',
      async (req) => {
        if (req.type !== undefined) tabletTypes([req.type], 'type');
        const record = await topo.tablets.updateFields(
          parseTabletAlias(req.alias, 'alias'),
          (tablet) => {
            if (req.type !== undefined) tablet.type = req.type;
            if (req.hostname !== '') tablet.hostname = req.hostname;
            if (Object.keys(req.portMap).length > 0) tablet.portMap = req.portMap;
            if (Object.keys(req.tags).length > 0) tablet.tags = req.tags;
          },
          { version: optionalVersion('version', req.version) ?? undefined },
        );
        return { tablet: record.tablet, version: wireVersion(record.version) };
      },
    ),
    deleteTablet: unary<api.DeleteTabletRequest, api.DeleteTabletResponse>(tracker, 'DeleteTablet', async (req) => {
      await topo.tablets.delete(parseTabletAlias(req.alias, 'alias'));
      return {};
    }),
    getShardReplication: unary<api.GetShardReplicationRequest, api.GetShardReplicationResponse>(
      tracker,
      'GetShardReplication',
      async (req) => {
        const record = await topo.shardReplications.get(req.keyspace, req.shard);
        return { shardReplication: record.replication, version: wireVersion(record.version) };
      },
    ),
  };
}
