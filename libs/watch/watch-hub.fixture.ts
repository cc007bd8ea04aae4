import { TopoError, TopoErrorCode, TopoStore, type RecursiveBatch, type RecursiveWatch, type Store } from '../store';
import { MemoryEngine } from '../store/memory';
import type { HubEvent, HubMessage, Subscription } from './messages';

/** Helpers shared by the watch hub specs. */

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const str = (value: Uint8Array): string => new TextDecoder().decode(value);

export function memoryStore(progressIntervalMs = 10_000): { store: Store; engine: MemoryEngine } {
  const engine = new MemoryEngine({ progressIntervalMs });
  return { store: new TopoStore(engine, { root: '/watch-hub' }), engine };
}

/** A router's view of one prefix, kept across reconnects: files, position, batches seen. */
export class ClientView {
  files = new Map<string, string>();
  /** The revision of the last message applied: resume from position + 1. */
  position = 0n;
  readonly batches: Array<{ revision: bigint; events: string[]; resync: boolean }> = [];
  snapshots = 0;

  apply(message: HubMessage): void {
    if (message.kind === 'snapshot') {
      this.files = new Map(message.entries.map((entry) => [entry.path, str(entry.contents)]));
      this.snapshots += 1;
    } else if (message.kind === 'batch') {
      if (message.revision <= this.position) throw new Error(`batch ${message.revision} after ${this.position}`);
      for (const event of message.events) {
        if (event.type === 'put') this.files.set(event.path, str(event.contents));
        else this.files.delete(event.path);
      }
      this.batches.push({ revision: message.revision, events: message.events.map(describeEvent), resync: message.resync === true });
    }
    if (message.revision < this.position) throw new Error(`${message.kind} ${message.revision} after ${this.position}`);
    this.position = message.revision;
  }
}

export function describeEvent(event: HubEvent): string {
  return event.type === 'put' ? `put ${event.path}=${str(event.contents)}` : `delete ${event.path}`;
}

const TIMEOUT = Symbol('timeout');

/** Reads one subscription into a ClientView, one message at a time, with deadlines. */
export class Reader {
  private readonly iterator: AsyncIterator<HubMessage>;
  private inflight: Promise<IteratorResult<HubMessage>> | undefined;

  constructor(
    readonly subscription: Subscription,
    readonly view: ClientView = new ClientView(),
  ) {
    this.iterator = subscription[Symbol.asyncIterator]();
  }

  /** The next message, applied to the view; undefined when none came within `timeoutMs`. */
  async read(timeoutMs: number): Promise<HubMessage | undefined> {
    this.inflight ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), timeoutMs);
    });
    try {
      const result = await Promise.race([this.inflight, deadline]);
      if (result === TIMEOUT) return undefined;
      this.inflight = undefined;
      if (result.done) throw new Error('subscription ended');
      this.view.apply(result.value);
      return result.value;
    } catch (err) {
      this.inflight = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async next(timeoutMs = 3000): Promise<HubMessage> {
    const message = await this.read(timeoutMs);
    if (message === undefined) throw new Error(`no message within ${timeoutMs} ms`);
    return message;
  }

  /** Reads until the view is at `revision` or later. */
  async catchUp(revision: bigint, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.view.position < revision) await this.next(Math.max(1, deadline - Date.now()));
  }
}

/** The files under `prefix` as the store has them now. */
export async function storeFiles(store: Store, prefix: string): Promise<Map<string, string>> {
  return new Map((await store.list(`${prefix}/`)).map((kv) => [kv.path, str(kv.contents)]));
}

export async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Counts the calls made to a store, to prove what the hub did or did not read. */
export function countingStore(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/**
 * A store whose recursive watches can be broken on demand and whose next opens can be made
 * to fail with Unavailable, as a lost etcd watch and an unreachable etcd would.
 */
export class FlakyStore {
  readonly store: Store;
  /** While > 0, each watchRecursive call fails with Unavailable and decrements it. */
  unavailableOpens = 0;
  private readonly breakers = new Set<(error: unknown) => void>();

  constructor(private readonly inner: Store) {
    this.store = new Proxy(inner, {
      get: (target, property, receiver) =>
        property === 'watchRecursive' ? this.watchRecursive : Reflect.get(target, property, receiver),
    });
  }

  /** Ends every open recursive watch: with `error`, or normally when undefined. */
  breakWatches(error?: unknown): void {
    for (const breaker of [...this.breakers]) breaker(error);
  }

  private readonly watchRecursive: Store['watchRecursive'] = async (prefix, options = {}) => {
    if (this.unavailableOpens > 0) {
      this.unavailableOpens -= 1;
      throw new TopoError(TopoErrorCode.Unavailable, 'injected: backend unreachable');
    }
    const controller = new AbortController();
    const outer = options.signal;
    if (outer?.aborted) controller.abort();
    outer?.addEventListener('abort', () => controller.abort(), { once: true });
    const watch: RecursiveWatch = await this.inner.watchRecursive(prefix, { ...options, signal: controller.signal });
    let injected: { error: unknown } | undefined;
    const breaker = (error: unknown): void => {
      injected = { error };
      controller.abort();
    };
    this.breakers.add(breaker);
    const breakers = this.breakers;
    async function* changes(): AsyncGenerator<RecursiveBatch> {
      try {
        for await (const batch of watch.changes) yield batch;
      } catch (err) {
        if (injected === undefined) throw err;
        if (injected.error !== undefined) throw injected.error;
      } finally {
        breakers.delete(breaker);
      }
    }
    return { current: watch.current, revision: watch.revision, changes: changes() };
  };
}
