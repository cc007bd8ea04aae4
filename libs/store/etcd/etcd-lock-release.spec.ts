import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { TopoStore } from '../core/topo-store';
import { TopoError, TopoErrorCode } from '../errors';
import type { Store } from '../store';
import { EtcdEngine } from './etcd-engine';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
let roots = 0;

function openStores(endpoints: string[], count: number): Store[] {
  const root = `/lock-release/${process.pid}-${++roots}`;
  return Array.from(
    { length: count },
    () => new TopoStore(new EtcdEngine({ endpoints, requestTimeoutMs: 1000 }), { root, lockTtlSeconds: 30, requestTimeoutMs: 5000 }),
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (!TopoError.is(err)) throw err;
    return err.code;
  }
}

/** Tries the lock until it is granted; resolves with how long that took. */
async function tryLockUntil(store: Store, dir: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      const lock = await store.tryLock(dir, 'next');
      await lock.unlock();
      return Date.now() - start;
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('lock release under etcd faults', () => {
  const etcd = useEtcdCluster({ members: 1 });

  it('an unlock while etcd is down retries, and frees the lock as soon as etcd is back, not after the 30 s lease', async () => {
    const [holder, other] = openStores(etcd().endpoints, 2);
    try {
      await holder.create('keyspaces/ks1/Keyspace', text('ks'));
      const lock = await holder.lock('keyspaces/ks1', 'holder');
      await etcd().members[0].kill();
      const unlocking = lock.unlock();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await etcd().members[0].restart();
      const back = Date.now();
      await unlocking;
      const waited = await tryLockUntil(other, 'keyspaces/ks1', 10_000);
      expect(Date.now() - back).toBeLessThan(5000);
      expect(waited).toBeLessThan(5000);
    } finally {
      await holder.close();
      await other.close();
    }
  }, 60_000);

  it('a caller that goes away while holding a lock releases it at once, and writes fenced by it are refused', async () => {
    const [holder, other] = openStores(etcd().endpoints, 2);
    try {
      await holder.create('keyspaces/ks2/Keyspace', text('ks'));
      const caller = new AbortController();
      const lock = await holder.lock('keyspaces/ks2', 'holder', { signal: caller.signal });
      expect(await holder.update('keyspaces/ks2/Keyspace', text('under lock'), null, { fence: lock.fence })).toBeGreaterThan(0n);
      caller.abort();
      expect(await codeOf(holder.update('keyspaces/ks2/Keyspace', text('after the caller left'), null, { fence: lock.fence }))).toBe(
        TopoErrorCode.LockLost,
      );
      expect(await tryLockUntil(other, 'keyspaces/ks2', 3000)).toBeLessThan(3000);
      expect(new TextDecoder().decode((await other.get('keyspaces/ks2/Keyspace')).contents)).toBe('under lock');
    } finally {
      await holder.close();
      await other.close();
    }
  });

  it('a caller that goes away while queued leaves no key behind and never holds the lock', async () => {
    const [holder, waiter] = openStores(etcd().endpoints, 2);
    try {
      await holder.create('keyspaces/ks3/Keyspace', text('ks'));
      const held = await holder.lock('keyspaces/ks3', 'holder');
      const caller = new AbortController();
      const waiting = waiter.lock('keyspaces/ks3', 'waiter', { signal: caller.signal });
      await new Promise((resolve) => setTimeout(resolve, 200));
      caller.abort();
      expect(await codeOf(waiting)).toBe(TopoErrorCode.Interrupted);
      await held.unlock();
      await expect(waiter.listDir('keyspaces/ks3/locks')).rejects.toMatchObject({ code: TopoErrorCode.NoNode });
    } finally {
      await holder.close();
      await waiter.close();
    }
  });
});
