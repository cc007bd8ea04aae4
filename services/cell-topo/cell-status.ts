import { serviceWatchHub, type CallTracker, type Observability, type ServiceRegistration, type StatusCell, type StatusTable } from '../../libs/server';
import type { Store } from '../../libs/store';
import { CellTopology, keyRangeString } from '../../libs/topo';
import type { WatchHub } from '../../libs/watch';
import { prefixLabel } from '../../libs/server/metrics/hub-metrics';
import { cellTopoServices, type CellTopoSettings } from './cell-topo-wiring';
import { TabletCensus, tabletTypeName } from './tablet-census';

/** cell-topo as main runs it: its services over one watch hub, with metrics and status over the same hub. */
export function observedCellTopoServices(
  store: Store,
  tracker: CallTracker,
  settings: CellTopoSettings,
  observability: Observability,
): ServiceRegistration[] {
  const hub = serviceWatchHub(store, tracker, { ...settings.hub, ...observability.hubOptions() });
  const census = observeCellTopo(observability, store, hub, settings.cell);
  tracker.onShutdown(async () => census.close());
  return cellTopoServices(store, tracker, settings, hub);
}

export const STATUS_ROW_LIMIT = 500;

/**
 * What cell-topo adds to /metrics and /debug/status: the tablet census, the watch hub's
 * figures, the serving graph and the hub's subscribers. Returns the census to close at
 * shutdown.
 */
export function observeCellTopo(observability: Observability, store: Store, hub: WatchHub, cell: string): TabletCensus {
  const census = new TabletCensus(hub);
  census.register(observability.registry);
  observability.watchHub(() => hub.stats());
  const topo = new CellTopology(store, { cell });
  observability.addStatus('cell', async () => cellTables(topo, hub, census));
  return census;
}

async function cellTables(topo: CellTopology, hub: WatchHub, census: TabletCensus): Promise<StatusTable[]> {
  const { registered, alive } = census.counts();
  const tablets = census.list(STATUS_ROW_LIMIT).map((t): StatusCell[] => [
    t.alias,
    t.tablet?.keyspace ?? '',
    t.tablet?.shard ?? '',
    t.tablet ? tabletTypeName(t.tablet.type) : '',
    t.tablet?.hostname ?? '',
    t.alive ? { text: 'alive', tone: 'ok' as const } : { text: 'down', tone: 'bad' as const },
  ]);
  const srvKeyspaces = await topo.srvKeyspaces.list();
  const serving: string[][] = [];
  for (const keyspace of srvKeyspaces.slice(0, STATUS_ROW_LIMIT)) {
    const { srvKeyspace } = await topo.srvKeyspaces.get(keyspace);
    for (const partition of srvKeyspace.partitions) {
      serving.push([
        keyspace,
        tabletTypeName(partition.servedType),
        partition.shardReferences.map((s) => `${s.name} (${keyRangeString(s.keyRange)})`).join(', '),
      ]);
    }
  }
  const stats = hub.stats();
  const prefixes = stats.prefixes.map((p): StatusCell[] => [
    prefixLabel(p),
    p.state === 'live' ? { text: p.state, tone: 'ok' as const } : { text: p.state, tone: 'bad' as const },
    String(p.subscribers),
    p.revision.toString(),
    String(p.maxBacklog),
    p.historyFloor.toString(),
    String(p.historyBatches),
    String(p.backendOpens),
  ]);
  return [
    {
      title: 'Tablets',
      note: `${registered} registered, ${alive} alive${census.isSynced ? ` (revision ${census.atRevision})` : ' (census still loading)'}${census.size > tablets.length ? `; first ${tablets.length} of ${census.size}` : ''}`,
      columns: ['alias', 'keyspace', 'shard', 'type', 'hostname', 'liveness'],
      rows: tablets,
    },
    { title: 'Serving graph', columns: ['keyspace', 'served type', 'shards'], rows: serving },
    {
      title: 'Watch subscribers',
      note: `${stats.subscribers} subscribers over ${stats.backendWatches} backend watches; lag is the largest undelivered backlog of a prefix's subscribers, in batches`,
      columns: ['prefix', 'state', 'subscribers', 'revision', 'lag (max backlog)', 'history floor', 'history batches', 'backend opens'],
      rows: prefixes,
    },
  ];
}
