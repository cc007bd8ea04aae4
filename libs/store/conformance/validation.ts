import { TopoErrorCode } from '../errors';
import { MAX_PATH_BYTES, MAX_VALUE_BYTES } from '../paths';
import { type ConformanceHarness, codeOf, text, useStore } from './harness';

const BAD_PATHS: Array<[string, string]> = [
  ['empty', ''],
  ['leading slash', '/keyspaces/ks1'],
  ['trailing slash', 'keyspaces/ks1/'],
  ['empty segment', 'keyspaces//ks1'],
  ['dot segment', 'keyspaces/./ks1'],
  ['dot-dot segment', 'keyspaces/../ks1'],
  ['lone dot-dot', '..'],
  ['NUL', 'keyspaces/ks\u00001'],
  ['newline', 'keyspaces/ks\n1'],
  ['DEL', 'keyspaces/ks\u007f1'],
  ['oversize path', `a/${'b/'.repeat(MAX_PATH_BYTES / 2)}c`],
  ['oversize segment', `a/${'x'.repeat(300)}`],
];

/** Bad input is refused with InvalidArgument before it reaches the backend, and changes nothing. */
export function validationChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness);

  it.each(BAD_PATHS)('refuses a path with %s on every operation', async (_what, path) => {
    const { store } = ctx();
    await store.create('keep/file', text('kept'));
    const before = await store.list('');
    const calls: Array<Promise<unknown>> = [
      store.create(path, text('x')),
      store.update(path, text('x'), null),
      store.get(path),
      store.getVersion(path, 1n),
      store.delete(path, null),
      store.watch(path),
    ];
    for (const call of calls) expect(await codeOf(call)).toBe(TopoErrorCode.InvalidArgument);
    expect(await store.list('')).toEqual(before);
  });

  it('refuses bad directory paths on listing, watching and locking', async () => {
    const { store } = ctx();
    for (const dir of ['a//b', '../a', 'a/\u0000', 'a/./b']) {
      expect(await codeOf(store.listDir(dir))).toBe(TopoErrorCode.InvalidArgument);
      expect(await codeOf(store.watchRecursive(dir))).toBe(TopoErrorCode.InvalidArgument);
      expect(await codeOf(store.lock(dir, 'x'))).toBe(TopoErrorCode.InvalidArgument);
      expect(await codeOf(store.lockName(dir, 'x'))).toBe(TopoErrorCode.InvalidArgument);
      expect(await codeOf(store.list(dir))).toBe(TopoErrorCode.InvalidArgument);
    }
  });

  it('refuses a value over the size limit and accepts one at the limit', async () => {
    const { store } = ctx();
    expect(await codeOf(store.create('big/file', new Uint8Array(MAX_VALUE_BYTES + 1)))).toBe(
      TopoErrorCode.InvalidArgument,
    );
    expect(await codeOf(store.get('big/file'))).toBe(TopoErrorCode.NoNode);
    await store.create('big/file', new Uint8Array(MAX_VALUE_BYTES));
    expect((await store.get('big/file')).contents.byteLength).toBe(MAX_VALUE_BYTES);
  });

  it('accepts empty values', async () => {
    const { store } = ctx();
    const version = await store.create('empty/file', new Uint8Array(0));
    expect(await store.get('empty/file')).toEqual({ contents: new Uint8Array(0), version });
  });

  it('refuses lease TTLs out of range', async () => {
    const { store } = ctx();
    for (const ttl of [0, -1, 1.5, 10 ** 9]) {
      expect(await codeOf(store.grantLease(ttl))).toBe(TopoErrorCode.InvalidArgument);
    }
  });
}
