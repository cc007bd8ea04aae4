import { openStore, TopoError, type Store, type TopoErrorCode } from '../../store';

/** A fresh in-process store per test, closed afterwards. */
export function useMemoryStore(): () => Store {
  let store: Store | undefined;
  beforeEach(() => {
    store = openStore({ backend: 'memory', root: '/t' });
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return () => {
    if (!store) throw new Error('store used outside a test');
    return store;
  };
}

/** Every file of the store with its version and contents, to compare before and after. */
export async function snapshot(store: Store): Promise<string[]> {
  return (await store.list('')).map((kv) => `${kv.path}@${kv.version}=${Buffer.from(kv.contents).toString('hex')}`);
}

/** The TopoError a call rejects with; fails when it resolves or throws something else. */
export async function rejection(call: Promise<unknown> | (() => unknown)): Promise<TopoError> {
  try {
    await (typeof call === 'function' ? call() : call);
  } catch (err) {
    if (err instanceof TopoError) return err;
    throw err;
  }
  throw new Error('expected a TopoError, but the call succeeded');
}

/** Asserts the call is refused with `code` and leaves every file of the store as it was. */
export async function expectRefused(store: Store, call: () => unknown, code: TopoErrorCode): Promise<TopoError> {
  const before = await snapshot(store);
  const err = await rejection(call);
  expect(err.code).toBe(code);
  expect(await snapshot(store)).toEqual(before);
  return err;
}
