import { TopoErrorCode } from '../errors';
import type { LockDescriptor } from '../store';
import { type ConformanceHarness, codeOf, sleep, str, text, useStore } from './harness';

/** Vitess checkLock, checkTryLock and the fencing this project adds. */
export function lockChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness, { lockTtlSeconds: 2 });

  const withKeyspace = async (): Promise<void> => {
    await ctx().store.create('keyspaces/ks1/Keyspace', text('k'));
  };

  it('refuses to lock a directory that does not exist with NoNode', async () => {
    expect(await codeOf(ctx().store.lock('keyspaces/missing', 'who'))).toBe(TopoErrorCode.NoNode);
  });

  it('locks, records the holder, and unlocks; a second unlock fails', async () => {
    const { store } = ctx();
    await withKeyspace();
    const lock = await store.lock('keyspaces/ks1', '{"who":"test"}');
    expect(lock.token > 0n).toBe(true);
    expect(str((await store.get(lock.path)).contents)).toBe('{"who":"test"}');
    expect(lock.path.startsWith('keyspaces/ks1/locks/')).toBe(true);
    await lock.check();
    await lock.unlock();
    expect(await codeOf(store.get(lock.path))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(lock.unlock())).toBe(TopoErrorCode.NoNode);
  });

  it('times out a waiter with Timeout and leaves no key behind', async () => {
    const { store } = ctx();
    await withKeyspace();
    const held = await store.lock('keyspaces/ks1', 'holder');
    expect(await codeOf(store.lock('keyspaces/ks1', 'waiter', { timeoutMs: 300 }))).toBe(TopoErrorCode.Timeout);
    expect((await store.list('keyspaces/ks1/locks/')).map((kv) => kv.path)).toEqual([held.path]);
    await held.unlock();
  });

  it('ends a cancelled wait with Interrupted and leaves no key behind', async () => {
    const { store } = ctx();
    await withKeyspace();
    const held = await store.lock('keyspaces/ks1', 'holder');
    const controller = new AbortController();
    const waiting = store.lock('keyspaces/ks1', 'waiter', { signal: controller.signal });
    await sleep(200);
    controller.abort();
    expect(await codeOf(waiting)).toBe(TopoErrorCode.Interrupted);
    expect((await store.list('keyspaces/ks1/locks/')).map((kv) => kv.path)).toEqual([held.path]);
    await held.unlock();
  });

  it('grants waiters in FIFO order as each holder unlocks, with increasing tokens', async () => {
    const { store } = ctx();
    await withKeyspace();
    const first = await store.lock('keyspaces/ks1', 'first');
    const order: string[] = [];
    const waiters: Promise<LockDescriptor>[] = [];
    for (const name of ['second', 'third', 'fourth']) {
      waiters.push(
        store.lock('keyspaces/ks1', name).then((lock) => {
          order.push(name);
          return lock;
        }),
      );
      // Queue position is set when the waiter's key is written.
      await sleep(100);
    }
    expect(order).toEqual([]);
    await first.unlock();
    const second = await waiters[0];
    await sleep(100);
    expect(order).toEqual(['second']);
    await second.unlock();
    const third = await waiters[1];
    await third.unlock();
    const fourth = await waiters[2];
    expect(order).toEqual(['second', 'third', 'fourth']);
    expect(first.token < second.token && second.token < third.token && third.token < fourth.token).toBe(true);
    await fourth.unlock();
  });

  it('releases the lock when the holder lease ends, and rejects the stale holder fenced write', async () => {
    const { store } = ctx();
    await withKeyspace();
    const stale = await store.lock('keyspaces/ks1', 'stale');
    const waiting = store.lock('keyspaces/ks1', 'next');
    const v1 = await store.update('keyspaces/ks1/Keyspace', text('by stale'), null, { fence: stale.fence });
    await store.revokeLease(stale.leaseId);
    const next = await waiting;
    expect(await codeOf(stale.check())).toBe(TopoErrorCode.LockLost);
    expect(await codeOf(store.update('keyspaces/ks1/Keyspace', text('late write'), null, { fence: stale.fence }))).toBe(
      TopoErrorCode.LockLost,
    );
    expect(await codeOf(store.create('keyspaces/ks1/New', text('late'), { fence: stale.fence }))).toBe(
      TopoErrorCode.LockLost,
    );
    expect(await codeOf(store.delete('keyspaces/ks1/Keyspace', null, { fence: stale.fence }))).toBe(
      TopoErrorCode.LockLost,
    );
    expect(await store.get('keyspaces/ks1/Keyspace')).toEqual({ contents: text('by stale'), version: v1 });
    await store.update('keyspaces/ks1/Keyspace', text('by next'), v1, { fence: next.fence });
    expect(str((await store.get('keyspaces/ks1/Keyspace')).contents)).toBe('by next');
    await next.unlock();
  });

  it('signals a lost lock promptly when its key is removed', async () => {
    const { store } = ctx();
    await withKeyspace();
    const lock = await store.lock('keyspaces/ks1', 'holder');
    const lost = new Promise<void>((resolve) => lock.lost.addEventListener('abort', () => resolve(), { once: true }));
    await store.delete(lock.path, null);
    await lost;
    expect(await codeOf(lock.check())).toBe(TopoErrorCode.LockLost);
    expect(await codeOf(lock.unlock())).toBe(TopoErrorCode.LockLost);
  });

  it('keeps a held lock alive past its TTL', async () => {
    const { store } = ctx();
    await withKeyspace();
    const lock = await store.lock('keyspaces/ks1', 'holder', { ttlSeconds: 1 });
    await sleep(2500);
    await lock.check();
    expect(lock.lost.aborted).toBe(false);
    await lock.unlock();
  });

  it('try-locks: NodeExists while held or queued, granted once free', async () => {
    const { store } = ctx();
    await withKeyspace();
    const held = await store.tryLock('keyspaces/ks1', 'first');
    expect(await codeOf(store.tryLock('keyspaces/ks1', 'second'))).toBe(TopoErrorCode.NodeExists);
    expect((await store.list('keyspaces/ks1/locks/')).length).toBe(1);
    await held.unlock();
    const again = await store.tryLock('keyspaces/ks1', 'second');
    await again.unlock();
  });

  it('try-locks a named lock: NodeExists while held, granted once free, with no directory needed', async () => {
    const { store } = ctx();
    const held = await store.lockName('internal/named_locks/wf', 'first', { tryOnly: true });
    expect(await codeOf(store.lockName('internal/named_locks/wf', 'second', { tryOnly: true }))).toBe(TopoErrorCode.NodeExists);
    expect((await store.list('internal/named_locks/wf/locks/')).length).toBe(1);
    await held.unlock();
    const again = await store.lockName('internal/named_locks/wf', 'second', { tryOnly: true });
    await again.unlock();
  });

  it('takes named locks on paths that need not exist', async () => {
    const { store } = ctx();
    const lock = await store.lockName('internal/named_locks/resharding', 'op');
    expect(await codeOf(store.lockName('internal/named_locks/resharding', 'other', { timeoutMs: 200 }))).toBe(
      TopoErrorCode.Timeout,
    );
    await lock.unlock();
    const other = await store.lockName('internal/named_locks/resharding', 'other', { timeoutMs: 2000 });
    await other.unlock();
  });
}
