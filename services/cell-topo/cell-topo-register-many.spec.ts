import { useEtcdCluster } from '../../deploy/etcd/jest';
import { ShardReplication, Tablet, TabletType } from '../../libs/proto';
import { call } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { LIVENESS_DIR, shardReplicationPath } from '../../libs/topo';
import type { GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startCellTopo, startGlobalWithKeyspace, type CellTopoFixture } from './cell-topo.fixture';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;

beforeAll(async () => {
  global = await startGlobalWithKeyspace(globalEtcd().endpoints);
  cell = await startCellTopo({ endpoints: cellEtcd().endpoints, root: `/many/${process.pid}/zone1`, cell: 'zone1', globalAddress: global.address });
}, 60_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

const tablet = (uid: number): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid }, hostname: `host-${uid}`, keyspace: 'ks', shard: '-80', type: TabletType.REPLICA });

async function register(uid: number): Promise<bigint> {
  const response = await call(cell.client.registerTablet.bind(cell.client), {
    registration: { tablet: tablet(uid), session: `host-${uid}`, ttl: { seconds: '30', nanos: 0 }, takeover: false, leaseId: '0' },
  });
  return BigInt(response.registered!.revision);
}

describe('cell-topo registration at scale', () => {
  it('registers 64 tablets of one shard at once: all succeed, folded into few transactions, the replication graph lists each once', async () => {
    // The cell's watch follows the root from the start; registrations read from its cache.
    await until('the hub follows the cell', () => cell.hub.peek('tablets/none/Tablet') !== undefined);
    const uids = Array.from({ length: 64 }, (_, i) => 1000 + i);
    const revisions = await Promise.all(uids.map(register));
    expect(revisions.every((revision) => revision > 0n)).toBe(true);
    // Registrations joining one graph at once share transactions instead of racing on it.
    expect(new Set(revisions).size).toBeLessThan(uids.length / 2);

    const graph = ShardReplication.decode((await cell.store.get(shardReplicationPath('ks', '-80'))).contents);
    expect(graph.nodes.map((node) => node.tabletAlias!.uid).sort((a, b) => a - b)).toEqual(uids);
    const alive = await cell.store.list(`${LIVENESS_DIR}/`);
    expect(alive).toHaveLength(64);

    // Registering again is idempotent: nothing doubles.
    await Promise.all(uids.slice(0, 8).map(register));
    const again = ShardReplication.decode((await cell.store.get(shardReplicationPath('ks', '-80'))).contents);
    expect(again.nodes).toHaveLength(64);
  }, 60_000);
});
