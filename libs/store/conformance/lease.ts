import { TopoErrorCode } from '../errors';
import { type ConformanceHarness, codeOf, sleep, text, useStore } from './harness';

/** Leases: what tablet registration stands on. */
export function leaseChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it('deletes lease-bound files when the lease expires without keepalive', async () => {
    const { store } = ctx();
    const lease = await store.grantLease(1);
    await store.create('tablets/zone1-0000000100/Tablet', text('t'), { lease: lease.id });
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      try {
        await store.get('tablets/zone1-0000000100/Tablet');
      } catch {
        break;
      }
      await sleep(100);
    }
    expect(await codeOf(store.get('tablets/zone1-0000000100/Tablet'))).toBe(TopoErrorCode.NoNode);
    expect(await codeOf(store.keepAliveLease(lease.id))).toBe(TopoErrorCode.NoNode);
  });

  it('keeps lease-bound files while the lease is kept alive', async () => {
    const { store } = ctx();
    const lease = await store.grantLease(1);
    await store.create('tablets/zone1-0000000100/Tablet', text('t'), { lease: lease.id });
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      expect(await store.keepAliveLease(lease.id)).toBeGreaterThanOrEqual(1);
    }
    expect((await store.get('tablets/zone1-0000000100/Tablet')).contents).toEqual(text('t'));
  });

  it('refuses a write bound to a lease that does not exist with NoNode', async () => {
    const { store } = ctx();
    const lease = await store.grantLease(5);
    await store.revokeLease(lease.id);
    expect(await codeOf(store.create('tablets/x/Tablet', text('t'), { lease: lease.id }))).toBe(TopoErrorCode.NoNode);
    await store.revokeLease(lease.id);
  });
}
