import { Metadata, status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { LockKind, type LockResponse } from '../../libs/proto/gen/topo/global/v1/global';
import type { WatchResponse } from '../../libs/proto/gen/topo/path/v1/path';
import { call, codeOf, StreamReader } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';

const etcd = useEtcdCluster({ members: 3 });
let a: GlobalTopoFixture;
let b: GlobalTopoFixture;

beforeAll(async () => {
  // Two replicas of global-topo over one etcd and one root, as one per cell would be.
  const root = `/replicas/${process.pid}/global`;
  a = await startGlobalTopo(etcd().endpoints, { root });
  b = await startGlobalTopo(etcd().endpoints, { root });
  await call(a.client.createKeyspace.bind(a.client), { name: 'ks', keyspace: undefined });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

const keyspaceLock = (holder: string) => ({
  target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks', shard: '', name: '', path: '' },
  holder,
  action: 'replica test',
  tryOnly: false,
});

describe('two global-topo replicas on one etcd', () => {
  it('a lock taken through one is seen and queued on through the other, and its fence holds through both', async () => {
    const first = new StreamReader<LockResponse>(a.client.lock(keyspaceLock('via a'), new Metadata()));
    const granted = await first.next();
    expect(granted.event?.$case).toBe('granted');
    const grantA = granted.event?.$case === 'granted' ? granted.event.value : undefined;

    const second = new StreamReader<LockResponse>(b.client.lock(keyspaceLock('via b'), new Metadata()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const queue = (await call(b.client.listLocks.bind(b.client), { target: keyspaceLock('').target })).locks;
    expect(queue.map((lock) => [lock.holder, lock.held])).toEqual([
      ['via a', true],
      ['via b', false],
    ]);

    // A write through B fenced by A's grant commits while A holds the lock.
    const fenceA = { lockId: grantA!.lockId, fencingToken: grantA!.fencingToken };
    await call(b.client.updateKeyspace.bind(b.client), { name: 'ks', keyspace: undefined, version: '0', fence: fenceA });

    first.cancel();
    const next = await second.next(10_000);
    expect(next.event?.$case).toBe('granted');
    const grantB = next.event?.$case === 'granted' ? next.event.value : undefined;
    expect(BigInt(grantB!.fencingToken)).toBeGreaterThan(BigInt(grantA!.fencingToken));
    // A's fence is stale now, through either replica.
    for (const replica of [a, b]) {
      expect(
        await codeOf(call(replica.client.updateKeyspace.bind(replica.client), { name: 'ks', keyspace: undefined, version: '0', fence: fenceA })),
      ).toBe(status.FAILED_PRECONDITION);
    }
    second.cancel();
  });

  it('a change written through one replica is seen by a watch through the other', async () => {
    await call(a.path.create.bind(a.path), { path: 'replicated/file', contents: Buffer.from('one') });
    const watch = new StreamReader<WatchResponse>(b.path.watch({ path: 'replicated/file' }, new Metadata()));
    expect(Buffer.from((await watch.next()).contents).toString()).toBe('one');
    await call(a.path.update.bind(a.path), { path: 'replicated/file', contents: Buffer.from('two'), version: '0' });
    expect(Buffer.from((await watch.next()).contents).toString()).toBe('two');
    watch.cancel();
  });
});
