import { TopoErrorCode } from '../errors';
import type { RecursiveBatch } from '../store';
import { type ConformanceHarness, codeOf, nextWithin, str, text, useStore } from './harness';

/** Vitess checkWatch, checkWatchInterrupt and checkWatchRecursive. */
export function watchChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it('refuses to watch a missing file with NoNode', async () => {
    const { store } = ctx();
    expect(await codeOf(store.watch('keyspaces/ks1/SrvKeyspace'))).toBe(TopoErrorCode.NoNode);
  });

  it('watches a file: current value, then every change in order, then NoNode on delete', async () => {
    const { store } = ctx();
    const v1 = await store.create('keyspaces/ks1/SrvKeyspace', text('one'));
    const watch = await store.watch('keyspaces/ks1/SrvKeyspace');
    expect(watch.current).toEqual({ contents: text('one'), version: v1 });
    // Written before iteration starts: a revision-based watch must still deliver them.
    const v2 = await store.update('keyspaces/ks1/SrvKeyspace', text('two'), null);
    const v3 = await store.update('keyspaces/ks1/SrvKeyspace', text('three'), null);
    const changes = watch.changes[Symbol.asyncIterator]();
    expect((await nextWithin(changes)).value).toEqual({ contents: text('two'), version: v2 });
    expect((await nextWithin(changes)).value).toEqual({ contents: text('three'), version: v3 });
    await store.create('keyspaces/ks1/Other', text('unrelated'));
    const v4 = await store.update('keyspaces/ks1/SrvKeyspace', text('four'), null);
    expect((await nextWithin(changes)).value).toEqual({ contents: text('four'), version: v4 });
    await store.delete('keyspaces/ks1/SrvKeyspace', null);
    expect(await codeOf(nextWithin(changes))).toBe(TopoErrorCode.NoNode);
  });

  it('ends a cancelled file watch with Interrupted', async () => {
    const { store } = ctx();
    await store.create('a/file', text('one'));
    const controller = new AbortController();
    const watch = await store.watch('a/file', { signal: controller.signal });
    const changes = watch.changes[Symbol.asyncIterator]();
    const pending = nextWithin(changes);
    await store.update('a/file', text('two'), null);
    expect(str((await pending).value.contents)).toBe('two');
    const waiting = nextWithin(changes);
    controller.abort();
    expect(await codeOf(waiting)).toBe(TopoErrorCode.Interrupted);
  });

  it('watches a directory recursively: snapshot, then puts and deletes grouped by transaction', async () => {
    const { store } = ctx();
    const v1 = await store.create('tablets/zone1-0000000100/Tablet', text('t100'));
    await store.create('other/file', text('outside'));
    const watch = await store.watchRecursive('tablets');
    expect(watch.current).toEqual([{ path: 'tablets/zone1-0000000100/Tablet', contents: text('t100'), version: v1 }]);
    expect(watch.revision >= v1).toBe(true);
    const changes = watch.changes[Symbol.asyncIterator]();
    const v2 = await store.create('tablets/zone1-0000000101/Tablet', text('t101'));
    await store.update('other/file', text('still outside'), null);
    await store.delete('tablets/zone1-0000000100/Tablet', null);
    const first = (await nextWithin(changes)).value as RecursiveBatch;
    expect(first).toEqual({
      revision: v2,
      changes: [{ type: 'put', path: 'tablets/zone1-0000000101/Tablet', contents: text('t101'), version: v2 }],
    });
    const second = (await nextWithin(changes)).value as RecursiveBatch;
    expect(second.changes).toEqual([{ type: 'delete', path: 'tablets/zone1-0000000100/Tablet', version: second.revision }]);
    // The write outside the directory in between is not delivered.
    expect(second.revision).toBe(v2 + 2n);
  });

  it('delivers the deletes of one lease revocation together, in one batch', async () => {
    const { store } = ctx();
    const lease = await store.grantLease(30);
    await store.create('tablets/a/Tablet', text('a'), { lease: lease.id });
    await store.create('tablets/b/Tablet', text('b'), { lease: lease.id });
    const watch = await store.watchRecursive('tablets');
    const changes = watch.changes[Symbol.asyncIterator]();
    await store.revokeLease(lease.id);
    const batch = (await nextWithin(changes)).value as RecursiveBatch;
    expect(batch.changes.map((c) => [c.type, c.path]).sort()).toEqual([
      ['delete', 'tablets/a/Tablet'],
      ['delete', 'tablets/b/Tablet'],
    ]);
  });

  it('resumes a recursive watch from a revision with exactly the missed changes', async () => {
    const { store } = ctx();
    const seen: bigint[] = [];
    for (let i = 0; i < 5; i++) seen.push(await store.update(`cells/c${i}/CellInfo`, text(`v${i}`), null));
    // A consumer that saw up to seen[1] resumes from the next revision.
    const resumed = await store.watchRecursive('cells', { fromRevision: seen[1] + 1n });
    expect(resumed.current).toEqual([]);
    const changes = resumed.changes[Symbol.asyncIterator]();
    const revisions: bigint[] = [];
    for (let i = 2; i < 5; i++) {
      const batch = (await nextWithin(changes)).value as RecursiveBatch;
      revisions.push(batch.revision);
      expect(batch.changes).toEqual([{ type: 'put', path: `cells/c${i}/CellInfo`, contents: text(`v${i}`), version: seen[i] }]);
    }
    expect(revisions).toEqual(seen.slice(2));
    const extra = await store.update('cells/c9/CellInfo', text('later'), null);
    expect(((await nextWithin(changes)).value as RecursiveBatch).revision).toBe(extra);
  });

  it('ends a watch resuming from a compacted revision with Compacted', async () => {
    const { store, engine } = ctx();
    const v1 = await store.create('cells/c1/CellInfo', text('1'));
    const v2 = await store.update('cells/c1/CellInfo', text('2'), null);
    await store.update('cells/c1/CellInfo', text('3'), null);
    await engine.compact(v2 + 1n);
    const resumed = await store.watchRecursive('cells', { fromRevision: v1 });
    expect(await codeOf(nextWithin(resumed.changes[Symbol.asyncIterator]()))).toBe(TopoErrorCode.Compacted);
    expect(await codeOf(store.getVersion('cells/c1/CellInfo', v1))).toBe(TopoErrorCode.Compacted);
  });

  it('ends a cancelled recursive watch with Interrupted', async () => {
    const { store } = ctx();
    const controller = new AbortController();
    const watch = await store.watchRecursive('', { signal: controller.signal });
    const changes = watch.changes[Symbol.asyncIterator]();
    const waiting = nextWithin(changes);
    controller.abort();
    expect(await codeOf(waiting)).toBe(TopoErrorCode.Interrupted);
  });
}
