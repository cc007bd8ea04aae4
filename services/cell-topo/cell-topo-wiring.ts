import { GlobalView } from '../../libs/client/global-view';
import { PATH_SERVICE_NAME, pathService, type CallTracker, type ServiceRegistration } from '../../libs/server';
import type { Store } from '../../libs/store';
import { CellTopology } from '../../libs/topo';
import { WatchHub, type WatchHubOptions } from '../../libs/watch';
import { cellTopoService } from './cell-topo-service';

export interface CellTopoSettings {
  cell: string;
  /** global-topo's address, for the keyspaces and shards tablets must belong to. */
  globalAddress: string;
  defaultTabletTtlSeconds?: number;
  hub?: WatchHubOptions;
}

/** The process's one watch hub: a single backend watch of the cell's root serves every watch. */
export function cellWatchHub(store: Store, options: WatchHubOptions = {}): WatchHub {
  return new WatchHub(store, { roots: [''], ...options });
}

/** Everything a cell-topo process serves, over one store: shared by main and the tests. */
export function cellTopoServices(
  store: Store,
  tracker: CallTracker,
  settings: CellTopoSettings,
  hub: WatchHub = cellWatchHub(store, { ...settings.hub, log: (msg, fields) => tracker.log.info(msg, fields as Record<string, unknown>) }),
): ServiceRegistration[] {
  const view = new GlobalView({ address: settings.globalAddress, log: (msg, fields) => tracker.log.info(msg, fields) });
  const topo = new CellTopology(store, {
    cell: settings.cell,
    registry: { defaultTtlSeconds: settings.defaultTabletTtlSeconds },
  });
  tracker.addReadinessCheck(() => (view.isSynced ? undefined : 'waiting for the global topology from global-topo'));
  tracker.onStoreReachability((reachable) => hub.setBackendReachable(reachable));
  tracker.onShutdown(async () => {
    view.close();
    await hub.close();
  });
  return [cellTopoService(topo, view, hub, tracker), { name: PATH_SERVICE_NAME, ...pathService(store, tracker, hub) }];
}
