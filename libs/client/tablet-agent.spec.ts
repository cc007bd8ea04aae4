import { useEtcdCluster } from '../../deploy/etcd/jest';
import { startCellTopo, type CellTopoFixture } from '../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo, type GlobalTopoFixture } from '../../services/global-topo/global-topo.fixture';
import { Tablet, TabletType } from '../proto';
import { call } from '../testing/grpc-call';
import { TabletAgent, type TabletAgentEvent } from './tablet-agent';
import { until } from '../testing/until';

const etcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;

beforeAll(async () => {
  global = await startGlobalTopo(etcd().endpoints);
  await call(global.client.createKeyspace.bind(global.client), { name: 'ks', keyspace: undefined });
  await call(global.client.createShard.bind(global.client), { keyspace: 'ks', name: '0' });
  cell = await startCellTopo({ endpoints: etcd().endpoints, root: `/agent/${process.pid}/zone1`, cell: 'zone1', globalAddress: global.address });
}, 60_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

describe('TabletAgent', () => {
  it('registers, re-registers with a new lease when its lease is really lost, and unregisters on stop', async () => {
    const agent = new TabletAgent({
      address: cell.address,
      ttlSeconds: 3,
      minBackoffMs: 20,
      maxBackoffMs: 200,
      tablet: Tablet.fromPartial({ alias: { cell: 'zone1', uid: 1 }, hostname: 'h', keyspace: 'ks', shard: '0', type: TabletType.REPLICA }),
    });
    const events: TabletAgentEvent[] = [];
    agent.on('event', (event: TabletAgentEvent) => events.push(event));
    await agent.start();
    const first = agent.lease!;
    await cell.store.revokeLease(BigInt(first));
    await until('re-registration', () => events.some((e) => e.type === 're-registered'));
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['registered', 'lease-lost', 're-registered']));
    expect(agent.lease).not.toBe(first);
    const alive = async () => (await call(cell.client.getTablet.bind(cell.client), { alias: 'zone1-0000000001' })).alive;
    await until('alive again', alive);
    await agent.stop();
    expect(await alive()).toBe(false);
  });

  it('refuses to start when another live session holds the alias', async () => {
    const tablet = Tablet.fromPartial({ alias: { cell: 'zone1', uid: 2 }, hostname: 'h', keyspace: 'ks', shard: '0', type: TabletType.REPLICA });
    const first = new TabletAgent({ address: cell.address, tablet, ttlSeconds: 5 });
    await first.start();
    const second = new TabletAgent({ address: cell.address, tablet, ttlSeconds: 5 });
    await expect(second.start()).rejects.toMatchObject({ code: 6 });
    await second.stop();
    await first.stop();
  });
});
