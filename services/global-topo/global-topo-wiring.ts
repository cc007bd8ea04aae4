import { PATH_SERVICE_NAME, pathService, serviceWatchHub, type CallTracker, type Observability, type ServiceRegistration } from '../../libs/server';
import type { Store } from '../../libs/store';
import { GlobalTopology } from '../../libs/topo';
import { globalStatus } from './global-status';
import { globalTopoService } from './global-topo-service';

/** Everything a global-topo process serves over one store, and its part of /metrics and /debug/status. */
export function globalTopoServices(store: Store, tracker: CallTracker, observability?: Observability): ServiceRegistration[] {
  const topo = new GlobalTopology(store);
  const hub = serviceWatchHub(store, tracker, observability?.hubOptions());
  observability?.addStatus('global', globalStatus(topo));
  observability?.watchHub(() => hub.stats());
  return [globalTopoService(topo, tracker), { name: PATH_SERVICE_NAME, ...pathService(store, tracker, hub) }];
}
