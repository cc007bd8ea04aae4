import type { KvEngine } from '../engine';
import { TopoErrorCode } from '../errors';
import type { Store } from '../store';

/** What a plugin gives the conformance suite: fresh, empty stores and their engines. */
export interface ConformanceHarness {
  /** A new store over an empty root; closed by the suite after each test. */
  newStore(options?: { lockTtlSeconds?: number }): Promise<{ store: Store; engine: KvEngine }>;
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const str = (value: Uint8Array): string => new TextDecoder().decode(value);

/** Resolves to the error code a promise rejects with; fails the test if it resolves. */
export async function codeOf(promise: Promise<unknown>): Promise<TopoErrorCode | string> {
  try {
    await promise;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : String(err);
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** Pulls the next value of an iterator with a deadline, so a missing event fails fast. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, ms = 5000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no value within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sets up a fresh store per test and closes it afterwards. */
export function useStore(harness: ConformanceHarness, options?: { lockTtlSeconds?: number }): () => {
  store: Store;
  engine: KvEngine;
} {
  let current: { store: Store; engine: KvEngine } | undefined;
  beforeEach(async () => {
    current = await harness.newStore(options);
  });
  afterEach(async () => {
    await current?.store.close();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('store used outside a test');
    return current;
  };
}
