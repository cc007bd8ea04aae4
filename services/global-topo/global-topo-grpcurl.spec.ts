import { useEtcdCluster } from '../../deploy/etcd/jest';
import { grpcurl, startGrpcurl } from '../../libs/testing/grpcurl';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;

beforeAll(async () => {
  topo = await startGlobalTopo(etcd().endpoints);
});
afterAll(async () => {
  await topo.stop();
});

/** What an operator types, against a live global-topo, with no protoset file. */
describe('global-topo through the real grpcurl', () => {
  it('lists every service', async () => {
    const result = await grpcurl(topo.address, ['list']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'topo.global.v1.GlobalTopoService',
      'topo.path.v1.PathService',
    ]);
  });

  it('describes a message that uses google.protobuf types, and those types', async () => {
    const request = await grpcurl(topo.address, ['describe', 'topo.global.v1.AcquireLockRequest']);
    expect(request.code).toBe(0);
    expect(request.stdout).toContain('.google.protobuf.Duration ttl = 6;');
    const info = await grpcurl(topo.address, ['describe', 'topo.global.v1.LockInfo']);
    expect(info.stdout).toContain('.google.protobuf.Timestamp requested_at = 5;');
    const duration = await grpcurl(topo.address, ['describe', 'google.protobuf.Duration']);
    expect(duration.code).toBe(0);
    expect(duration.stdout).toContain('int64 seconds = 1;');
    const service = await grpcurl(topo.address, ['describe', 'topo.global.v1.GlobalTopoService']);
    expect(service.stdout).toContain('rpc Lock ( .topo.global.v1.LockRequest ) returns ( stream .topo.global.v1.LockResponse );');
  });

  it('creates and gets a keyspace with -d JSON', async () => {
    const created = await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/CreateKeyspace'], {
      data: { name: 'commerce', keyspace: { durabilityPolicy: 'semi_sync' } },
    });
    expect(created.code).toBe(0);
    const version = JSON.parse(created.stdout).version as string;
    const got = await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/GetKeyspace'], { data: { name: 'commerce' } });
    expect(JSON.parse(got.stdout)).toEqual({ keyspace: { durabilityPolicy: 'semi_sync', sidecarDbName: '_vt' }, version });
    const bad = await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/CreateKeyspace'], { data: { name: 'a/b' } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('InvalidArgument');
  });

  it('takes a TTL lock with a google.protobuf.Duration in JSON', async () => {
    const acquired = await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/AcquireLock'], {
      data: { target: { kind: 'LOCK_KIND_KEYSPACE', keyspace: 'commerce' }, action: 'manual', ttl: '30s' },
    });
    expect(acquired.stderr).toBe('');
    expect(acquired.code).toBe(0);
    const grant = JSON.parse(acquired.stdout).grant as { lockId: string; fencingToken: string };
    expect(grant.lockId).toMatch(/^keyspaces\/commerce\/locks\/[0-9a-f]{16}$/);
    const released = await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/ReleaseLock'], {
      data: { lockId: grant.lockId, fencingToken: grant.fencingToken },
    });
    expect(released.code).toBe(0);
  });

  it('reads messages of a streaming RPC as they come', async () => {
    const watch = startGrpcurl(topo.address, ['topo.path.v1.PathService/WatchRecursive'], { data: { path: 'cells' }, timeoutMs: 20_000 });
    try {
      await watch.waitFor('"snapshot": true');
      await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/CreateCellInfo'], {
        data: { name: 'zone1', cellInfo: { serverAddress: '127.0.0.1:16000', root: '/topo/zone1' } },
      });
      await watch.waitFor('cells/zone1/CellInfo');
      await grpcurl(topo.address, ['topo.global.v1.GlobalTopoService/DeleteCellInfo'], { data: { name: 'zone1' } });
      await watch.waitFor('CHANGE_TYPE_DELETE');
    } finally {
      await watch.stop();
    }
  });
});
