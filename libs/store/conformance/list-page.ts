import { TopoErrorCode } from '../errors';
import type { KVInfo, Store } from '../store';
import { type ConformanceHarness, codeOf, str, text, useStore } from './harness';

/** Every page of a listing, each read at the first page's revision. */
async function allPages(store: Store, prefix: string, limit: number): Promise<{ pages: KVInfo[][]; revisions: bigint[] }> {
  const pages: KVInfo[][] = [];
  const revisions: bigint[] = [];
  let after: string | undefined;
  let revision: bigint | undefined;
  for (;;) {
    const page = await store.listPage(prefix, { limit, after, revision });
    pages.push(page.items);
    revisions.push(page.revision);
    revision = page.revision;
    if (!page.more) return { pages, revisions };
    after = page.items[page.items.length - 1].path;
  }
}

/** Paged listings: limit and continuation at one revision, as etcd ranges are paged. */
export function listPageChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it('pages through a prefix in path order, each page at most the limit, the pages together the whole list', async () => {
    const { store } = ctx();
    for (let i = 0; i < 23; i++) await store.create(`tablets/zone1-${String(i).padStart(10, '0')}/Tablet`, text(`t${i}`));
    await store.create('tablets0/other', text('outside the directory'));
    const { pages } = await allPages(store, 'tablets/', 5);
    expect(pages.map((page) => page.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flat()).toEqual(await store.list('tablets/'));
  });

  it('keeps one state across pages: writes after the first page are not seen by later pages', async () => {
    const { store } = ctx();
    for (let i = 0; i < 6; i++) await store.create(`dir/f${i}`, text('before'));
    const first = await store.listPage('dir/', { limit: 3 });
    await store.update('dir/f4', text('after'), null);
    await store.delete('dir/f5', null);
    await store.create('dir/f6', text('new'));
    const second = await store.listPage('dir/', { limit: 10, after: first.items[2].path, revision: first.revision });
    expect(second.items.map((kv) => `${kv.path}=${str(kv.contents)}`)).toEqual(['dir/f3=before', 'dir/f4=before', 'dir/f5=before']);
    expect(second.more).toBe(false);
    expect(second.revision).toBe(first.revision);
  });

  it('bounds a page by a last path, inclusive, without what lies below it', async () => {
    const { store } = ctx();
    for (const path of ['dir/a', 'dir/b', 'dir/b0/child', 'dir/c']) await store.create(path, text(path));
    const page = await store.listPage('dir/', { after: 'dir/a', through: 'dir/b' });
    expect(page.items.map((kv) => kv.path)).toEqual(['dir/b']);
  });

  it('answers Compacted for a revision no longer in history, and InvalidArgument for a bad limit', async () => {
    const { store, engine } = ctx();
    await store.create('dir/a', text('a'));
    const first = await store.listPage('dir/', { limit: 1 });
    await store.update('dir/a', text('b'), null);
    const latest = await store.update('dir/a', text('c'), null);
    await engine.compact(latest);
    expect(await codeOf(store.listPage('dir/', { limit: 1, revision: first.revision }))).toBe(TopoErrorCode.Compacted);
    expect(await codeOf(store.listPage('dir/', { limit: 0 }))).toBe(TopoErrorCode.InvalidArgument);
  });
}
