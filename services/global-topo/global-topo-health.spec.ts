import { credentials, Metadata, status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { HealthClient, HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { call, codeOf, StreamReader } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;
let health: HealthClient;

beforeAll(async () => {
  topo = await startGlobalTopo(etcd().endpoints);
  health = new HealthClient(topo.address, credentials.createInsecure());
});
afterAll(async () => {
  health.close();
  await topo.stop();
});

describe('global-topo health', () => {
  it('reports NOT_SERVING while etcd is down and SERVING again once it is back', async () => {
    expect((await call(health.check.bind(health), { service: '' })).status).toBe(Status.SERVING);
    const watch = new StreamReader(health.watch({ service: 'topo.global.v1.GlobalTopoService' }, new Metadata()));
    expect((await watch.next()).status).toBe(Status.SERVING);
    await etcd().members[0].stop();
    expect((await watch.next(15_000)).status).toBe(Status.NOT_SERVING);
    expect((await call(health.check.bind(health), { service: '' })).status).toBe(Status.NOT_SERVING);
    expect(await codeOf(call(topo.client.listKeyspaces.bind(topo.client), {}))).toBe(status.UNAVAILABLE);
    await etcd().members[0].restart();
    expect((await watch.next(15_000)).status).toBe(Status.SERVING);
    expect((await call(health.check.bind(health), { service: '' })).status).toBe(Status.SERVING);
    watch.cancel();
  }, 60_000);
});
