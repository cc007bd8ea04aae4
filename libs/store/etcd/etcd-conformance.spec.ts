import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { describeStoreConformance } from '../conformance';
import { TopoStore } from '../core/topo-store';
import { EtcdEngine } from './etcd-engine';

const etcd = useEtcdCluster({ members: 1 });
let stores = 0;

describeStoreConformance('etcd', {
  async newStore(options) {
    const engine = new EtcdEngine({ endpoints: etcd().endpoints });
    // Each store gets its own root, so tests on one etcd never see each other's keys.
    const store = new TopoStore(engine, { root: `/conformance/${process.pid}-${++stores}`, ...options });
    return { store, engine };
  },
});
