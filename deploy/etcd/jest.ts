import { EtcdCluster } from './etcd-cluster';
import type { EtcdClusterOptions } from './cluster-options';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * Starts an etcd cluster before the tests of the enclosing describe block and stops it
 * after them, whether they pass or not. Returns a getter, since the cluster exists only
 * once beforeAll has run.
 *
 *   const etcd = useEtcdCluster({ members: 3 });
 *   it('...', async () => { const client = new Etcd3({ hosts: etcd().endpoints }); ... });
 */
export function useEtcdCluster(options: EtcdClusterOptions = {}): () => EtcdCluster {
  let cluster: EtcdCluster | undefined;
  beforeAll(async () => {
    cluster = await EtcdCluster.start(options);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  }, STOP_TIMEOUT_MS);
  return () => {
    if (cluster === undefined) {
      throw new Error('etcd cluster not started: call the getter inside a test or hook');
    }
    return cluster;
  };
}
