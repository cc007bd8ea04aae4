/**
 * global-topo: keyspaces, shards, cells, vschema, routing rules, locks and elections,
 * plus the raw path API, over the global etcd cluster.
 *
 *   node services/global-topo/main.js --etcd-endpoints http://127.0.0.1:2379
 */
import { runService } from '../../libs/server';
import { globalTopoServices } from './global-topo-wiring';

export const GLOBAL_TOPO_DEFAULTS = { listen: '127.0.0.1:15999', root: '/topo/global' };

if (require.main === module) {
  void runService({
    program: 'global-topo',
    defaults: GLOBAL_TOPO_DEFAULTS,
    services: (store, tracker, _config, observability) => globalTopoServices(store, tracker, observability),
  });
}
