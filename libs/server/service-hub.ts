import type { Store } from '../store';
import { WatchHub, type WatchHubOptions } from '../watch';
import type { CallTracker } from './handlers';

/**
 * A service process's one watch hub: a single backend watch of the service's root serves
 * every watch it answers, told when the health probe finds the store unreachable (so its
 * watchers are told their view may be stale), and closed at shutdown.
 */
export function serviceWatchHub(store: Store, tracker: CallTracker, options: WatchHubOptions = {}): WatchHub {
  const hub = new WatchHub(store, {
    roots: [''],
    log: (message, fields) => tracker.log.info(message, fields as Record<string, unknown>),
    ...options,
  });
  tracker.onStoreReachability((reachable) => hub.setBackendReachable(reachable));
  tracker.onShutdown(() => hub.close());
  return hub;
}
