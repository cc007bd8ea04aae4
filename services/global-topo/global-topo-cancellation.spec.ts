import { status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { Locks } from '../../libs/topo';
import { call, codeOf } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;

beforeAll(async () => {
  topo = await startGlobalTopo(etcd().endpoints);
  await call(topo.client.createKeyspace.bind(topo.client), { name: 'ks', keyspace: undefined });
});
afterAll(async () => {
  await topo.stop();
});

describe('global-topo: requests whose caller has gone', () => {
  it('an abandoned CreateShard waiting on the keyspace lock leaves the queue and never commits', async () => {
    const locks = new Locks(topo.store);
    const held = await locks.lockKeyspace('ks', 'held by the test');
    const c = topo.client;
    expect(await codeOf(call(c.createShard.bind(c), { keyspace: 'ks', name: '-80' }, 300))).toBe(status.DEADLINE_EXCEEDED);
    // The abandoned request's key leaves the queue promptly: only the holder is left.
    for (let i = 0; (await locks.keyspaceLocks('ks')).length > 1; i++) {
      if (i > 100) throw new Error('the abandoned CreateShard is still queued');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await held.unlock();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await codeOf(call(c.getShard.bind(c), { keyspace: 'ks', name: '-80' }))).toBe(status.NOT_FOUND);
    expect(await locks.keyspaceLocks('ks')).toEqual([]);
    // A caller that stays gets its shard.
    await call(c.createShard.bind(c), { keyspace: 'ks', name: '-80' });
    expect((await call(c.getShard.bind(c), { keyspace: 'ks', name: '-80' })).version).not.toBe('0');
  });
});
