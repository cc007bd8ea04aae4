import type { ClientTlsFiles } from '../../libs/client/channel-credentials';
import { GlobalView } from '../../libs/client/global-view';
import { PATH_SERVICE_NAME, pathService, serviceWatchHub, type CallTracker, type ServiceRegistration } from '../../libs/server';
import type { Store } from '../../libs/store';
import { CellTopology } from '../../libs/topo';
import type { WatchHub, WatchHubOptions } from '../../libs/watch';
import { cellTopoService } from './cell-topo-service';

export interface CellTopoSettings {
  cell: string;
  /** global-topo's address, for the keyspaces and shards tablets must belong to. */
  globalAddress: string;
  defaultTabletTtlSeconds?: number;
  hub?: WatchHubOptions;
  /** TLS to global-topo; main passes the service's own --grpc-ca, --grpc-cert and --grpc-key. */
  globalTls?: ClientTlsFiles;
}

/** Everything a cell-topo process serves, over one store: shared by main and the tests. */
export function cellTopoServices(
  store: Store,
  tracker: CallTracker,
  settings: CellTopoSettings,
  hub: WatchHub = serviceWatchHub(store, tracker, settings.hub),
): ServiceRegistration[] {
  const view = new GlobalView({ address: settings.globalAddress, tls: settings.globalTls, log: (msg, fields) => tracker.log.info(msg, fields) });
  // The hub follows the whole cell from the start: routers' first watches find it warm, and
  // registrations read their tablet and replication graph from its cache (one etcd request).
  hub.keepOpen('');
  const topo = new CellTopology(store, {
    cell: settings.cell,
    registry: { defaultTtlSeconds: settings.defaultTabletTtlSeconds, cache: hub },
  });
  tracker.addReadinessCheck(() => (view.isSynced ? undefined : 'waiting for the global topology from global-topo'));
  tracker.onShutdown(async () => view.close());
  return [cellTopoService(topo, view, hub, tracker), { name: PATH_SERVICE_NAME, ...pathService(store, tracker, hub) }];
}
