import type { KeyValue, KvEngine, TxnOp, WatchOptions, WatchResponse } from '../engine';
import { TopoError, TopoErrorCode } from '../errors';
import { MemoryEngine, type MemoryEngineOptions } from './index';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const put = (key: string, value: string, lease?: bigint): TxnOp => ({ type: 'put', key, value: encoder.encode(value), lease });
const del = (key: string, prefix = false): TxnOp => ({ type: 'delete', key, prefix });
const get = (key: string, prefix = false): TxnOp => ({ type: 'get', key, prefix });
const text = (kv: KeyValue): string => decoder.decode(kv.value);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const engines: MemoryEngine[] = [];
function newEngine(options?: MemoryEngineOptions): MemoryEngine {
  const engine = new MemoryEngine(options);
  engines.push(engine);
  return engine;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

async function write(engine: KvEngine, ...ops: TxnOp[]): Promise<bigint> {
  return (await engine.txn({ compare: [], success: ops })).revision;
}

async function rejection(promise: Promise<unknown>): Promise<TopoError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TopoError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Consumes a watch in the background, as a router would. */
class Collector {
  readonly responses: WatchResponse[] = [];
  error: unknown;
  ended = false;

  constructor(iterable: AsyncIterable<WatchResponse>) {
    void (async () => {
      try {
        for await (const response of iterable) this.responses.push(response);
      } catch (err) {
        this.error = err;
      } finally {
        this.ended = true;
      }
    })();
  }

  get revisions(): bigint[] {
    return this.responses.map((response) => response.revision);
  }

  summary(): string[][] {
    return this.responses.map((response) =>
      response.events.map((event) => `${response.revision}:${event.type}:${event.kv.key}=${text(event.kv)}`),
    );
  }
}

const watchAll = (engine: KvEngine, key: string, options?: WatchOptions): Collector => new Collector(engine.watch(key, options));

describe('MemoryEngine revisions', () => {
  it('starts at revision 1 and advances by one per writing txn, all its writes sharing it', async () => {
    const engine = newEngine();
    expect((await engine.range('a')).revision).toBe(1n);

    expect(await write(engine, put('a', '1'), put('b', '2'))).toBe(2n);
    const { kvs, revision } = await engine.range('', { prefix: true });

    expect(revision).toBe(2n);
    expect(kvs.map((kv) => [kv.key, kv.createRevision, kv.modRevision, kv.version])).toEqual([
      ['a', 2n, 2n, 1n],
      ['b', 2n, 2n, 1n],
    ]);
  });

  it('keeps createRevision and increments version on update, and starts over after a delete', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'));
    await write(engine, put('a', '2'));
    const updated = (await engine.range('a')).kvs[0];
    expect([updated.createRevision, updated.modRevision, updated.version]).toEqual([2n, 3n, 2n]);

    await write(engine, del('a'));
    await write(engine, put('a', '3'));
    const recreated = (await engine.range('a')).kvs[0];
    expect([recreated.createRevision, recreated.modRevision, recreated.version]).toEqual([5n, 5n, 1n]);
  });

  it('does not advance the revision for reads, deletes of missing keys or a read-only failure branch', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'));

    expect(await write(engine, get('a'), get('', true))).toBe(2n);
    expect(await write(engine, del('missing'), del('nothing/', true))).toBe(2n);
    const failed = await engine.txn({
      compare: [{ key: 'a', field: 'modRevision', equals: 99n }],
      success: [put('a', 'x')],
      failure: [get('a')],
    });
    expect([failed.succeeded, failed.revision]).toEqual([false, 2n]);
    expect((await engine.range('a')).revision).toBe(2n);
  });
});

describe('MemoryEngine range', () => {
  it('sorts by UTF-8 byte order, not by UTF-16 or locale', async () => {
    const engine = newEngine();
    // Locale order puts 'a' before 'B'; UTF-16 order puts the emoji (a surrogate pair)
    // before U+FF21; UTF-8 byte order does neither.
    await write(engine, put('\u{1F600}', '1'), put('a', '2'), put('\uFF21', '3'), put('B', '4'));

    const { kvs } = await engine.range('', { prefix: true });

    expect(kvs.map((kv) => kv.key)).toEqual(['B', 'a', '\uFF21', '\u{1F600}']);
  });

  it('matches only keys under the prefix, and only the exact key without it', async () => {
    const engine = newEngine();
    await write(engine, put('dir/a', '1'), put('dir/b/c', '2'), put('dir', '3'), put('dis', '4'), put('dir0', '5'));

    expect((await engine.range('dir/', { prefix: true })).kvs.map((kv) => kv.key)).toEqual(['dir/a', 'dir/b/c']);
    expect((await engine.range('dir')).kvs.map((kv) => kv.key)).toEqual(['dir']);
    expect((await engine.range('di')).kvs).toEqual([]);
  });

  it('reads the store as it was at a past revision and reports the current revision', async () => {
    const engine = newEngine();
    await write(engine, put('k/a', 'a1'), put('k/b', 'b1')); // 2
    await write(engine, put('k/a', 'a2')); // 3
    await write(engine, del('k/b')); // 4
    await write(engine, put('k/c', 'c1')); // 5

    const at = async (revision: bigint): Promise<string[]> => {
      const result = await engine.range('k/', { prefix: true, revision });
      expect(result.revision).toBe(5n);
      return result.kvs.map((kv) => `${kv.key}=${text(kv)}@${kv.modRevision}`);
    };
    expect(await at(1n)).toEqual([]);
    expect(await at(2n)).toEqual(['k/a=a1@2', 'k/b=b1@2']);
    expect(await at(3n)).toEqual(['k/a=a2@3', 'k/b=b1@2']);
    expect(await at(4n)).toEqual(['k/a=a2@3']);
    expect(await at(5n)).toEqual(['k/a=a2@3', 'k/c=c1@5']);
    expect((await engine.range('k/b', { revision: 3n })).kvs.map(text)).toEqual(['b1']);
  });

  it('returns empty values when asked for keys only', async () => {
    const engine = newEngine();
    await write(engine, put('a', 'value'));

    const { kvs } = await engine.range('a', { keysOnly: true });

    expect(kvs.map((kv) => [kv.key, kv.value.length, kv.version])).toEqual([['a', 0, 1n]]);
  });

  it('refuses a future revision and an empty key with InvalidArgument', async () => {
    const engine = newEngine();
    expect((await rejection(engine.range('a', { revision: 2n }))).code).toBe(TopoErrorCode.InvalidArgument);
    expect((await rejection(engine.range(''))).code).toBe(TopoErrorCode.InvalidArgument);
  });

  it('stores and returns copies, so callers mutating buffers cannot corrupt the store', async () => {
    const engine = newEngine();
    const value = Buffer.from('abc');
    await write(engine, { type: 'put', key: 'a', value });
    value[0] = 0x7a;
    const first = (await engine.range('a')).kvs[0];
    first.value[1] = 0x7a;

    expect(text((await engine.range('a')).kvs[0])).toBe('abc');
  });
});

describe('MemoryEngine txn', () => {
  it('runs the success branch only while a modRevision compare holds', async () => {
    const engine = newEngine();
    const created = await write(engine, put('a', '1'));
    const casTo = (value: string) =>
      engine.txn({
        compare: [{ key: 'a', field: 'modRevision', equals: created }],
        success: [put('a', value)],
        failure: [get('a')],
      });

    const first = await casTo('2');
    const second = await casTo('3');

    expect([first.succeeded, first.revision]).toEqual([true, 3n]);
    expect([second.succeeded, second.revision]).toEqual([false, 3n]);
    expect(second.results[0].kvs.map(text)).toEqual(['2']);
  });

  it('treats createRevision 0 as "the key does not exist"', async () => {
    const engine = newEngine();
    const createIfAbsent = (value: string) =>
      engine.txn({ compare: [{ key: 'a', field: 'createRevision', equals: 0n }], success: [put('a', value)] });

    expect((await createIfAbsent('1')).succeeded).toBe(true);
    expect((await createIfAbsent('2')).succeeded).toBe(false);
    expect((await engine.range('a')).kvs.map(text)).toEqual(['1']);
    await write(engine, del('a'));
    expect((await createIfAbsent('3')).succeeded).toBe(true);
  });

  it('requires every compare to hold and returns one result per op of the branch that ran', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'), put('b', '2')); // 2

    const result = await engine.txn({
      compare: [
        { key: 'a', field: 'createRevision', equals: 2n },
        { key: 'b', field: 'modRevision', equals: 3n },
      ],
      success: [put('c', 'never')],
      failure: [get('a'), del('missing'), del('b'), get('', true)],
    });

    expect(result.succeeded).toBe(false);
    expect(result.revision).toBe(3n);
    expect(result.results.map((r) => r.kvs.map((kv) => `${kv.key}=${text(kv)}`))).toEqual([['a=1'], [], ['b=2'], ['a=1']]);
    expect((await engine.range('c')).kvs).toEqual([]);
  });

  it('lets later ops of a txn see the effects of earlier ones', async () => {
    const engine = newEngine();
    await write(engine, put('p/1', 'x'), put('p/2', 'y'));

    const result = await engine.txn({ compare: [], success: [put('a', 'new'), get('a'), del('p/', true), get('p/', true)] });

    expect(result.revision).toBe(3n);
    expect(result.results[1].kvs.map((kv) => [text(kv), kv.modRevision])).toEqual([['new', 3n]]);
    expect(result.results[3].kvs).toEqual([]);
  });

  it('deletes every key under a prefix in one revision and returns their previous values', async () => {
    const engine = newEngine();
    await write(engine, put('p/1', 'x'), put('p/2', 'y'), put('q', 'z'));

    const result = await engine.txn({ compare: [], success: [del('p/', true)] });

    expect(result.revision).toBe(3n);
    expect(result.results[0].kvs.map((kv) => `${kv.key}=${text(kv)}@${kv.modRevision}`)).toEqual(['p/1=x@2', 'p/2=y@2']);
    expect((await engine.range('', { prefix: true })).kvs.map((kv) => kv.key)).toEqual(['q']);
  });

  it('refuses a branch that writes one key twice, in either branch, and writes nothing', async () => {
    const engine = newEngine();
    const refused = async (success: TxnOp[], failure: TxnOp[] = []): Promise<void> => {
      const err = await rejection(engine.txn({ compare: [], success, failure }));
      expect(err.code).toBe(TopoErrorCode.InvalidArgument);
      expect(err.message).toContain('duplicate key given in txn request');
    };

    await refused([put('a', '1'), put('a', '2')]);
    await refused([del('p/', true), put('p/x', '1')]);
    await refused([put('ok', '1')], [put('b', '1'), del('b')]);

    expect((await engine.range('', { prefix: true })).revision).toBe(1n);
    expect(await write(engine, del('p/', true), del('p/x'), put('q', '1'))).toBe(2n);
  });

  it('fails a put with an unknown lease with NoNode and writes nothing', async () => {
    const engine = newEngine();

    const err = await rejection(write(engine, put('b', '1'), put('a', '1', 12345n)));

    expect(err.code).toBe(TopoErrorCode.NoNode);
    expect(err.message).toContain('lease not found');
    expect(await engine.range('', { prefix: true })).toEqual({ kvs: [], revision: 1n });
  });
});

describe('MemoryEngine compaction', () => {
  it('keeps the state at the compact revision and refuses older reads and watches with Compacted', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'), put('gone', 'x')); // 2
    await write(engine, put('b', '1')); // 3
    await write(engine, del('gone')); // 4
    await write(engine, put('b', '2')); // 5

    await engine.compact(4n);

    expect((await rejection(engine.range('a', { revision: 3n }))).code).toBe(TopoErrorCode.Compacted);
    const atCompact = await engine.range('', { prefix: true, revision: 4n });
    expect(atCompact.kvs.map((kv) => `${kv.key}=${text(kv)}`)).toEqual(['a=1', 'b=1']);
    expect((await engine.range('', { prefix: true })).kvs.map((kv) => `${kv.key}=${text(kv)}`)).toEqual(['a=1', 'b=2']);

    const tooOld = watchAll(engine, 'b', { startRevision: 3n });
    const fromCompact = watchAll(engine, '', { prefix: true, startRevision: 4n });
    await until(() => tooOld.ended && fromCompact.responses.length === 2);
    expect(TopoError.is(tooOld.error, TopoErrorCode.Compacted)).toBe(true);
    expect(fromCompact.summary()).toEqual([['4:delete:gone='], ['5:put:b=2']]);
  });

  it('refuses to compact a future or already compacted revision', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'));
    await engine.compact(2n);

    expect((await rejection(engine.compact(3n))).code).toBe(TopoErrorCode.InvalidArgument);
    expect((await rejection(engine.compact(2n))).code).toBe(TopoErrorCode.Compacted);
  });

  it('compacts automatically beyond historyLimit revisions, keeping current values', async () => {
    const engine = newEngine({ historyLimit: 3 });
    for (let i = 0; i < 10; i += 1) await write(engine, put(`k${i % 4}`, `${i}`)); // revisions 2..11

    expect((await rejection(engine.range('k0', { revision: 8n }))).code).toBe(TopoErrorCode.Compacted);
    expect((await engine.range('', { prefix: true, revision: 9n })).kvs.map(text)).toEqual(['4', '5', '6', '7']);
    expect((await engine.range('', { prefix: true })).kvs.map(text)).toEqual(['8', '9', '6', '7']);
    const replay = watchAll(engine, '', { prefix: true, startRevision: 9n });
    await until(() => replay.responses.length === 3);
    expect(replay.revisions).toEqual([9n, 10n, 11n]);
  });
});

describe('MemoryEngine leases', () => {
  it('gives unique increasing lease ids', async () => {
    const engine = newEngine();
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await engine.leaseGrant(5)).id);

    expect(ids[0] > 0n && ids[0] < ids[1] && ids[1] < ids[2]).toBe(true);
  });

  it('deletes the keys of an expired lease in one revision with delete events', async () => {
    const engine = newEngine();
    const { id } = await engine.leaseGrant(1);
    const written = await write(engine, put('l/a', '1', id), put('l/b', '2', id), put('l/plain', '3'));
    const watch = watchAll(engine, 'l/', { prefix: true });

    await sleep(700);
    expect((await engine.range('l/', { prefix: true })).kvs).toHaveLength(3);
    await until(() => watch.responses.length > 0, 1500);

    expect(watch.summary()).toEqual([[`${written + 1n}:delete:l/a=`, `${written + 1n}:delete:l/b=`]]);
    expect((await engine.range('l/', { prefix: true })).kvs.map((kv) => kv.key)).toEqual(['l/plain']);
    expect(await engine.leaseTimeToLive(id)).toBe(-1);
    expect((await rejection(engine.leaseKeepAlive(id))).code).toBe(TopoErrorCode.NoNode);
  });

  it('keeps a lease alive past its first deadline after a keepalive, then expires it', async () => {
    const engine = newEngine();
    const { id } = await engine.leaseGrant(1);
    await write(engine, put('a', '1', id));
    const watch = watchAll(engine, 'a');

    await sleep(600);
    expect(await engine.leaseKeepAlive(id)).toBe(1);
    await sleep(700);
    expect((await engine.range('a')).kvs).toHaveLength(1);
    expect(watch.responses).toEqual([]);

    await until(() => watch.responses.length === 1, 1500);
    expect(watch.summary()).toEqual([['3:delete:a=']]);
  });

  it('reports remaining seconds rounded up, then -1 once expired by the clock', async () => {
    let clock = 1_000_000;
    const engine = newEngine({ now: () => clock });
    const { id, ttlSeconds } = await engine.leaseGrant(10);
    await write(engine, put('a', '1', id));
    expect(ttlSeconds).toBe(10);

    clock += 2_500;
    expect(await engine.leaseTimeToLive(id)).toBe(8);
    clock += 7_500;
    expect(await engine.leaseTimeToLive(id)).toBe(-1);
    expect((await engine.range('a')).kvs).toEqual([]);
  });

  it('fails a keepalive of a missing lease with NoNode', async () => {
    const engine = newEngine();
    expect((await rejection(engine.leaseKeepAlive(42n))).code).toBe(TopoErrorCode.NoNode);
  });

  it('revokes a lease and its keys in one revision; a missing lease is fine', async () => {
    const engine = newEngine();
    const { id } = await engine.leaseGrant(60);
    const written = await write(engine, put('a', '1', id), put('b', '2', id), put('c', '3'));

    await engine.leaseRevoke(id);
    await engine.leaseRevoke(id);

    const { kvs, revision } = await engine.range('', { prefix: true });
    expect(revision).toBe(written + 1n);
    expect(kvs.map((kv) => kv.key)).toEqual(['c']);
    expect(await engine.leaseTimeToLive(id)).toBe(-1);
  });

  it('detaches a key from its lease when it is put again with another lease or none', async () => {
    const engine = newEngine();
    const first = await engine.leaseGrant(60);
    const second = await engine.leaseGrant(60);
    await write(engine, put('a', '1', first.id), put('b', '1', first.id));
    await write(engine, put('a', '2'), put('b', '2', second.id));
    const before = (await engine.range('b')).revision;

    await engine.leaseRevoke(first.id);
    expect((await engine.range('', { prefix: true })).revision).toBe(before);
    await engine.leaseRevoke(second.id);

    const { kvs } = await engine.range('', { prefix: true });
    expect(kvs.map((kv) => [kv.key, kv.lease])).toEqual([['a', 0n]]);
  });
});

describe('MemoryEngine watch', () => {
  it('without a start revision delivers only changes made after watch() was called', async () => {
    const engine = newEngine();
    await write(engine, put('a', 'before'));
    const iterable = engine.watch('a');
    await write(engine, put('a', 'after'));
    const watch = new Collector(iterable);

    await until(() => watch.responses.length === 1);
    await sleep(20);
    expect(watch.summary()).toEqual([['3:put:a=after']]);
  });

  it('replays from a past revision, then continues live with no gap and no duplicate', async () => {
    const engine = newEngine();
    for (let i = 1; i <= 5; i += 1) await write(engine, put('k', `${i}`)); // revisions 2..6

    const watch = watchAll(engine, 'k', { startRevision: 3n });
    const live: Promise<bigint>[] = [];
    for (let i = 6; i <= 8; i += 1) live.push(write(engine, put('k', `${i}`))); // revisions 7..9
    await Promise.all(live);
    await until(() => watch.responses.length >= 7);
    await sleep(20);

    expect(watch.revisions).toEqual([3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    expect(watch.responses.map((r) => text(r.events[0].kv))).toEqual(['2', '3', '4', '5', '6', '7', '8']);
  });

  it('sends the matching events of one revision together and never merges revisions', async () => {
    const engine = newEngine();
    await write(engine, put('w/gone', 'x'));
    const watch = watchAll(engine, 'w/', { prefix: true });

    await write(engine, put('w/a', '1'), put('other', '1'), put('w/b', '1'), del('w/gone')); // 3
    await write(engine, put('other', '2')); // 4: nothing for this watch
    await write(engine, put('w/a', '2')); // 5
    await write(engine, put('w/b', '2')); // 6
    await until(() => watch.responses.length === 3);
    await sleep(20);

    expect(watch.summary()).toEqual([['3:put:w/a=1', '3:put:w/b=1', '3:delete:w/gone='], ['5:put:w/a=2'], ['6:put:w/b=2']]);
  });

  it('describes a delete by its key and revision, with zero create revision and version', async () => {
    const engine = newEngine();
    const { id } = await engine.leaseGrant(60);
    await write(engine, put('a', '1', id));
    const watch = watchAll(engine, 'a');
    await write(engine, del('a'));
    await until(() => watch.responses.length === 1);

    expect(watch.responses[0].events).toEqual([
      { type: 'delete', kv: { key: 'a', value: new Uint8Array(0), createRevision: 0n, modRevision: 3n, version: 0n, lease: 0n } },
    ]);
  });

  it('waits for a start revision in the future', async () => {
    const engine = newEngine();
    const watch = watchAll(engine, 'a', { startRevision: 3n });
    await write(engine, put('a', '1'));
    await write(engine, put('a', '2'));
    await until(() => watch.responses.length === 1);
    await sleep(20);

    expect(watch.summary()).toEqual([['3:put:a=2']]);
  });

  it('ends with Interrupted when the signal aborts, or at once when already aborted', async () => {
    const engine = newEngine();
    const controller = new AbortController();
    const watch = watchAll(engine, 'a', { signal: controller.signal });
    await sleep(10);
    expect(engine.watcherCount).toBe(1);

    controller.abort();
    await until(() => watch.ended);
    expect(TopoError.is(watch.error, TopoErrorCode.Interrupted)).toBe(true);
    expect(engine.watcherCount).toBe(0);

    const late = watchAll(engine, 'a', { signal: controller.signal });
    await until(() => late.ended);
    expect(TopoError.is(late.error, TopoErrorCode.Interrupted)).toBe(true);
  });

  it('sends progress notifications at the current revision on an idle watch that asked for them', async () => {
    const engine = newEngine({ progressIntervalMs: 30 });
    const withProgress = watchAll(engine, 'a', { progressNotify: true });
    const without = watchAll(engine, 'a');
    await write(engine, put('other', '1'));
    await write(engine, put('other', '2'));

    await until(() => withProgress.responses.length >= 2);
    await write(engine, put('a', '1'));
    await until(() => withProgress.responses.some((r) => r.events.length > 0));
    await until(() => withProgress.responses[withProgress.responses.length - 1].events.length === 0);

    const progress = withProgress.responses.filter((r) => r.events.length === 0);
    expect(progress.every((r) => r.revision === 3n || r.revision === 4n)).toBe(true);
    expect(progress[progress.length - 1].revision).toBe(4n);
    expect(without.responses.map((r) => r.events.length)).toEqual([1]);
  });

  it('unregisters the watcher when the consumer breaks out of for-await', async () => {
    const engine = newEngine();
    await write(engine, put('a', '1'));
    for await (const response of engine.watch('a', { startRevision: 2n })) {
      expect(engine.watcherCount).toBe(1);
      expect(response.revision).toBe(2n);
      break;
    }
    expect(engine.watcherCount).toBe(0);

    const iterator = engine.watch('a')[Symbol.asyncIterator]();
    const pending = iterator.next();
    expect(engine.watcherCount).toBe(1);
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(engine.watcherCount).toBe(0);
  });

  it('does not block writers on a slow consumer, which later gets every revision in order', async () => {
    const engine = newEngine();
    const iterator = engine.watch('', { prefix: true })[Symbol.asyncIterator]();
    const first = iterator.next();
    for (let i = 0; i < 2000; i += 1) await write(engine, put(`k${i % 10}`, `${i}`));

    const revisions = [(await first).value?.revision];
    for (let i = 1; i < 2000; i += 1) revisions.push((await iterator.next()).value?.revision);
    await iterator.return?.();

    expect(revisions).toEqual(Array.from({ length: 2000 }, (_, i) => BigInt(i + 2)));
  });

  it('delivers copies: a consumer mutating an event value does not change the store', async () => {
    const engine = newEngine();
    const watch = watchAll(engine, 'a');
    await write(engine, put('a', 'abc'));
    await until(() => watch.responses.length === 1);
    watch.responses[0].events[0].kv.value[0] = 0x7a;

    expect(text((await engine.range('a')).kvs[0])).toBe('abc');
  });
});

describe('MemoryEngine close', () => {
  it('ends watches with Interrupted and refuses later calls with Unavailable', async () => {
    const engine = newEngine();
    const watch = watchAll(engine, 'a');
    await sleep(10);

    await engine.close();
    await engine.close();

    await until(() => watch.ended);
    expect(TopoError.is(watch.error, TopoErrorCode.Interrupted)).toBe(true);
    expect((await rejection(engine.range('a'))).code).toBe(TopoErrorCode.Unavailable);
    expect((await rejection(engine.txn({ compare: [], success: [put('a', '1')] }))).code).toBe(TopoErrorCode.Unavailable);
    expect((await rejection(engine.leaseGrant(1))).code).toBe(TopoErrorCode.Unavailable);
    const late = watchAll(engine, 'a');
    await until(() => late.ended);
    expect(TopoError.is(late.error, TopoErrorCode.Unavailable)).toBe(true);
  });
});
