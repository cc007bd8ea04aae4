import { TopoError, TopoErrorCode, type Store } from '../store';
import { encodeOnce } from './encode-once';
import type { BatchMessage, HubEvent, HubMessage } from './messages';
import { WatchHub } from './watch-hub';
import {
  ClientView,
  FlakyStore,
  Reader,
  countingStore,
  describeEvent,
  eventually,
  memoryStore,
  storeFiles,
  str,
  text,
} from './watch-hub.fixture';

const hubs: WatchHub[] = [];
const stores: Store[] = [];

function track(hub: WatchHub, store: Store): WatchHub {
  hubs.push(hub);
  stores.push(store);
  return hub;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** One event-loop turn: the hub dispatches what arrived in the previous one. */
const dispatched = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const codeOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof TopoError ? err.code : err),
  );

const json = (value: object): Uint8Array => text(JSON.stringify(value));
const kindOf = (contents: Uint8Array | undefined): string | undefined =>
  contents === undefined ? undefined : (JSON.parse(str(contents)) as { kind: string }).kind;

describe('WatchHub', () => {
  it('serves a snapshot from memory, then a marker, then ordered deltas, each with its revision', async () => {
    const { store: inner } = memoryStore();
    const { store, calls } = countingStore(inner);
    const hub = track(new WatchHub(store), inner);
    await inner.create('tablets/b/Tablet', text('b1'));
    const aVersion = await inner.create('tablets/a/Tablet', text('a1'));
    const outside = await inner.create('keyspaces/ks/Keyspace', text('k'));

    const first = new Reader(hub.subscribe('tablets'));
    const snapshot = await first.next();
    expect(snapshot).toMatchObject({ kind: 'snapshot', revision: outside });
    expect(snapshot.kind === 'snapshot' && snapshot.entries.map((e) => [e.path, str(e.contents)])).toEqual([
      ['tablets/a/Tablet', 'a1'],
      ['tablets/b/Tablet', 'b1'],
    ]);
    expect(await first.next()).toEqual({ kind: 'marker', revision: outside });

    const updated = await inner.update('tablets/a/Tablet', text('a2'), aVersion);
    await inner.create('keyspaces/ks2/Keyspace', text('k'));
    await inner.delete('tablets/b/Tablet', null);
    const put = await first.next();
    expect(put).toMatchObject({ kind: 'batch', revision: updated });
    const putEvent = (put as BatchMessage).events[0];
    expect(putEvent).toMatchObject({ type: 'put', path: 'tablets/a/Tablet', version: updated });
    expect(putEvent.type === 'put' && [str(putEvent.contents), str(putEvent.previous ?? text('?'))]).toEqual(['a2', 'a1']);
    const deleted = await first.next();
    expect(deleted).toMatchObject({ kind: 'batch', revision: updated + 2n, events: [{ type: 'delete', path: 'tablets/b/Tablet' }] });
    expect((deleted as BatchMessage).resync).toBeUndefined();

    // Warm: a second subscriber costs no store call at all.
    const before = new Map(calls);
    const second = new Reader(hub.subscribe('tablets/'));
    const warm = await second.next();
    expect(warm).toMatchObject({ kind: 'snapshot', revision: updated + 2n });
    expect([...second.view.files]).toEqual([['tablets/a/Tablet', 'a2']]);
    expect(calls).toEqual(before);
    expect(calls.get('watchRecursive')).toBe(1);
    expect(calls.get('list')).toBeUndefined();
  });

  it('delivers the events of one transaction as one batch: a multi-file commit and a lease revocation', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store), store);
    const reader = new Reader(hub.subscribe('tablets'));
    await reader.next();
    await reader.next();

    const committed = await store.commit({
      expect: [],
      ops: [
        { type: 'put', path: 'tablets/t1/Tablet', contents: text('1') },
        { type: 'put', path: 'tablets/t2/Tablet', contents: text('2') },
        { type: 'put', path: 'tablets/t3/Tablet', contents: text('3') },
      ],
    });
    const lease = await store.grantLease(30);
    const leased: bigint[] = [];
    for (const name of ['e1', 'e2', 'e3']) leased.push(await store.create(`tablets/${name}/Tablet`, text(name), { lease: lease.id }));
    await store.revokeLease(lease.id);

    const commitBatch = await reader.next();
    expect(commitBatch.revision).toBe(committed);
    expect((commitBatch as BatchMessage).events.map(describeEvent)).toEqual([
      'put tablets/t1/Tablet=1',
      'put tablets/t2/Tablet=2',
      'put tablets/t3/Tablet=3',
    ]);
    for (const revision of leased) expect((await reader.next()).revision).toBe(revision);
    const revoked = (await reader.next()) as BatchMessage;
    expect(revoked.events.map(describeEvent).sort()).toEqual([
      'delete tablets/e1/Tablet',
      'delete tablets/e2/Tablet',
      'delete tablets/e3/Tablet',
    ]);
    expect(revoked.revision).toBe(leased[2] + 1n);
    expect(await reader.read(30)).toBeUndefined();
  });

  it('filters on the server: a value is seen entering and leaving the filter, skipped batches still advance lastRevision', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store), store);
    await store.create('tablets/t1/Tablet', json({ kind: 'replica' }));
    await store.create('tablets/t2/Tablet', json({ kind: 'primary' }));
    const subscription = hub.subscribe('tablets', { filter: (_path, contents) => kindOf(contents) === 'replica' });
    const reader = new Reader(subscription);
    const snapshot = await reader.next();
    expect(snapshot.kind === 'snapshot' && snapshot.entries.map((e) => e.path)).toEqual(['tablets/t1/Tablet']);
    await reader.next();

    // A read is waiting: the batch it skips is consumed at once.
    expect(await reader.read(10)).toBeUndefined();
    const skipped = await store.update('tablets/t2/Tablet', json({ kind: 'primary', n: 2 }), null);
    await eventually(() => subscription.lastRevision === skipped);
    expect(await reader.read(20)).toBeUndefined();

    const entering = await store.update('tablets/t2/Tablet', json({ kind: 'replica' }), null);
    const leaving = await store.update('tablets/t1/Tablet', json({ kind: 'rdonly' }), null);
    const mixed = await store.commit({
      expect: [],
      ops: [
        { type: 'put', path: 'tablets/t3/Tablet', contents: json({ kind: 'primary' }) },
        { type: 'put', path: 'tablets/t4/Tablet', contents: json({ kind: 'replica' }) },
      ],
    });
    const gone = await store.commit({ expect: [], ops: [{ type: 'delete', path: 'tablets/t2/Tablet' }] });
    expect((await reader.next()).revision).toBe(entering);
    const left = (await reader.next()) as BatchMessage;
    expect(left.revision).toBe(leaving);
    expect([kindOf(left.events[0].type === 'put' ? left.events[0].contents : undefined), kindOf(left.events[0].previous)]).toEqual([
      'rdonly',
      'replica',
    ]);
    const mixedBatch = (await reader.next()) as BatchMessage;
    expect([mixedBatch.revision, mixedBatch.events.map((e) => e.path)]).toEqual([mixed, ['tablets/t4/Tablet']]);
    expect(await reader.next()).toMatchObject({ revision: gone, events: [{ type: 'delete', path: 'tablets/t2/Tablet' }] });
    // The client applies its filter to what it holds: t1 left, t4 came.
    const replicas = [...reader.view.files].filter(([, value]) => kindOf(text(value)) === 'replica').map(([path]) => path);
    expect(replicas).toEqual(['tablets/t4/Tablet']);
  });

  it('keeps one backend watch for 200 subscribers and serves all their snapshots from memory', async () => {
    const { store: inner } = memoryStore();
    const { store, calls } = countingStore(inner);
    const hub = track(new WatchHub(store), inner);
    for (let i = 0; i < 10; i++) await inner.create(`tablets/t${i}/Tablet`, text(`v${i}`));
    const readers = Array.from({ length: 200 }, () => new Reader(hub.subscribe('tablets')));
    for (const reader of readers) {
      await reader.next();
      await reader.next();
    }
    const written: bigint[] = [];
    for (let i = 0; i < 5; i++) written.push(await inner.update(`tablets/t${i}/Tablet`, text(`w${i}`), null));
    for (const reader of readers) {
      await reader.catchUp(written[4]);
      expect(reader.view.batches.map((b) => b.revision)).toEqual(written);
      expect(reader.view.files).toEqual(await storeFiles(inner, 'tablets'));
    }
    const stats = hub.stats();
    expect([stats.backendWatches, stats.subscribers, stats.cachedKeys, stats.prefixes[0].backendOpens]).toEqual([1, 200, 10, 1]);
    expect([calls.get('watchRecursive'), calls.get('list'), calls.get('get')]).toEqual([1, undefined, undefined]);

    new Reader(hub.subscribe('keyspaces'));
    expect(hub.stats().backendWatches).toBe(2);
  });

  it('resumes without gap or duplicate across 100 forced disconnects while writes continue', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store), store);
    const expected: Array<{ revision: bigint; events: string[]; resync: boolean }> = [];
    const existing = new Set<string>();
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 3000; i++) {
        const path = `tablets/t${i % 17}/Tablet`;
        if (i % 5 === 0 && existing.has(path)) {
          const revision = await store.commit({ expect: [], ops: [{ type: 'delete', path }] });
          existing.delete(path);
          expected.push({ revision, events: [`delete ${path}`], resync: false });
        } else if (i % 7 === 0) {
          const other = `tablets/m${i % 3}/Tablet`;
          const revision = await store.commit({
            expect: [],
            ops: [
              { type: 'put', path: other, contents: text(`m${i}`) },
              { type: 'put', path: 'tablets/pair/Tablet', contents: text(`p${i}`) },
            ],
          });
          expected.push({ revision, events: [`put ${other}=m${i}`, `put tablets/pair/Tablet=p${i}`], resync: false });
        } else {
          const revision = await store.update(path, text(`v${i}`), null);
          existing.add(path);
          expected.push({ revision, events: [`put ${path}=v${i}`], resync: false });
        }
        if (i % 3 === 0) await store.update('keyspaces/ks/Keyspace', text(`k${i}`), null);
        await new Promise((resolve) => setImmediate(resolve));
      }
      writing = false;
    })();

    const view = new ClientView();
    let snapshotRevision = 0n;
    let disconnectsDuringWrites = 0;
    for (let session = 0; session < 100; session++) {
      const resume = session === 0 ? {} : { fromRevision: view.position + 1n };
      const reader = new Reader(hub.subscribe('tablets', resume), view);
      for (let i = 0; i < 1 + ((session * 7) % 13); i++) {
        const message = await reader.next();
        if (message.kind === 'snapshot') snapshotRevision = message.revision;
      }
      reader.subscription.close();
      if (writing) disconnectsDuringWrites += 1;
    }
    await writer;
    const final = new Reader(hub.subscribe('tablets', { fromRevision: view.position + 1n }), view);
    await final.catchUp(expected[expected.length - 1].revision);

    expect(disconnectsDuringWrites).toBe(100);
    expect(view.snapshots).toBe(1);
    expect(view.batches).toEqual(expected.filter((batch) => batch.revision > snapshotRevision));
    expect(view.files).toEqual(await storeFiles(store, 'tablets'));
  });

  it('answers a resume older than the history, or ahead of what the hub knows, with Compacted (re-list); revision 0 is InvalidArgument', async () => {
    let clock = 1_000_000;
    const { store } = memoryStore();
    const hub = track(new WatchHub(store, { historyMaxEvents: 10, historyWindowMs: 60_000, now: () => clock }), store);
    const live = new Reader(hub.subscribe('tablets'));
    await live.next();
    await live.next();
    const written: bigint[] = [];
    for (let i = 0; i < 30; i++) {
      written.push(await store.update(`tablets/t${i % 4}/Tablet`, text(`v${i}`), null));
      await live.catchUp(written[i]);
    }
    expect(hub.stats().prefixes[0]).toMatchObject({ historyEvents: 10, historyBatches: 10, historyFloor: written[19] });

    const resumeCode = (fromRevision: bigint): Promise<unknown> =>
      codeOf(new Reader(hub.subscribe('tablets', { fromRevision })).next());
    expect(await resumeCode(written[19])).toBe(TopoErrorCode.Compacted);
    expect(await resumeCode(written[0])).toBe(TopoErrorCode.Compacted);
    expect(await resumeCode(written[29] + 2n)).toBe(TopoErrorCode.Compacted);
    expect(await resumeCode(0n)).toBe(TopoErrorCode.InvalidArgument);

    const exact = new Reader(hub.subscribe('tablets', { fromRevision: written[19] + 1n }));
    await exact.catchUp(written[29]);
    expect(exact.view.batches.map((b) => b.revision)).toEqual(written.slice(20));
    const current = new Reader(hub.subscribe('tablets', { fromRevision: written[29] + 1n }));
    expect(await current.read(20)).toBeUndefined();

    // Age: batches older than the window leave even when the event cap has room.
    clock += 61_000;
    const late = await store.update('tablets/t0/Tablet', text('late'), null);
    await live.catchUp(late);
    expect(hub.stats().prefixes[0]).toMatchObject({ historyBatches: 1, historyFloor: written[29] });
    expect(await resumeCode(written[25] + 1n)).toBe(TopoErrorCode.Compacted);
    const afterAging = new Reader(hub.subscribe('tablets', { fromRevision: written[29] + 1n }));
    expect((await afterAging.next()).revision).toBe(late);
    clock += 61_000;
    expect(await resumeCode(late)).toBe(TopoErrorCode.Compacted);
    expect(hub.stats().prefixes[0]).toMatchObject({ historyBatches: 0, historyFloor: late });
  });

  it('sends bookmarks to idle subscribers with the latest revision, so their resume point stays fresh', async () => {
    const { store } = memoryStore(20);
    const hub = track(new WatchHub(store, { bookmarkIntervalMs: 60 }), store);
    await store.create('tablets/t1/Tablet', text('1'));
    const subscription = hub.subscribe('tablets');
    const reader = new Reader(subscription);
    await reader.next();
    await reader.next();
    const elsewhere = await store.update('keyspaces/ks/Keyspace', text('k'), null);

    let bookmark: HubMessage | undefined;
    const started = Date.now();
    while (bookmark?.revision !== elsewhere) {
      bookmark = await reader.next(2000);
      expect(bookmark.kind).toBe('bookmark');
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(subscription.lastRevision).toBe(elsewhere);

    const resumed = new Reader(hub.subscribe('tablets', { fromRevision: elsewhere + 1n }));
    const next = await store.update('tablets/t1/Tablet', text('2'), null);
    expect(await resumed.next()).toMatchObject({ kind: 'batch', revision: next });
  });

  it('cuts a subscriber that never reads with a resumable ResourceExhausted; it resumes and catches up exactly', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store, { queueLimit: 1000 }), store);
    const slow = new Reader(hub.subscribe('tablets'));
    await slow.next();
    await slow.next();
    const start = slow.view.position;
    const written: bigint[] = [];
    let cutAfter = -1;
    for (let i = 0; i < 10_000; i++) {
      written.push(await store.update(`tablets/t${i % 50}/Tablet`, text(`v${i}`), null));
      await dispatched();
      expect(hub.stats().maxBacklog).toBeLessThanOrEqual(1000);
      if (cutAfter < 0 && slow.subscription.ended.aborted) cutAfter = i;
    }
    expect(cutAfter).toBeGreaterThanOrEqual(1000);
    expect(cutAfter).toBeLessThan(1010);

    // What was handed to the reader before the cut is read first, then the cut itself.
    let error: unknown;
    while (error === undefined) {
      await slow.next().catch((err: unknown) => (error = err));
    }
    expect(error).toBeInstanceOf(TopoError);
    expect((error as TopoError).code).toBe(TopoErrorCode.ResourceExhausted);
    const resumeFrom = BigInt(/resume from revision (\d+)/.exec((error as TopoError).message)?.[1] ?? '-1');
    expect(slow.view.position - start).toBeLessThanOrEqual(1n);
    expect(resumeFrom).toBe(slow.view.position + 1n);

    const resumed = new Reader(hub.subscribe('tablets', { fromRevision: resumeFrom }), slow.view);
    await resumed.catchUp(written[written.length - 1], 20_000);
    expect(slow.view.batches.map((b) => b.revision)).toEqual(written);
    expect(slow.view.batches.map((b) => b.events[0])).toEqual(written.map((_, i) => `put tablets/t${i % 50}/Tablet=v${i}`));
    expect(slow.view.files).toEqual(await storeFiles(store, 'tablets'));
  });

  it('keeps memory bounded: no backlog above queueLimit, no history above historyMaxEvents, readers unaffected', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store, { queueLimit: 50, historyMaxEvents: 500 }), store);
    const stalled = Array.from({ length: 10 }, () => new Reader(hub.subscribe('tablets')));
    for (const reader of stalled) {
      await reader.next();
      await reader.next();
    }
    const readers = Array.from({ length: 10 }, () => new Reader(hub.subscribe('tablets')));
    let last = 0n;
    let done = false;
    const reading = readers.map(async (reader) => {
      while (!done || reader.view.position < last) await reader.read(50);
    });
    let maxBacklog = 0;
    let maxEvents = 0;
    for (let i = 0; i < 3000; i++) {
      last = await store.update(`tablets/t${i % 20}/Tablet`, text(`v${i}`), null);
      await dispatched();
      const stats = hub.stats();
      maxBacklog = Math.max(maxBacklog, stats.maxBacklog);
      maxEvents = Math.max(maxEvents, stats.historyEvents);
    }
    done = true;
    await Promise.all(reading);
    expect(maxBacklog).toBeLessThanOrEqual(50);
    expect(maxEvents).toBe(500);
    expect(stalled.every((reader) => reader.subscription.ended.aborted)).toBe(true);
    expect(readers.some((reader) => reader.subscription.ended.aborted)).toBe(false);
    for (const reader of readers) expect(reader.view.batches).toHaveLength(3000);
    expect(hub.stats().subscribers).toBe(10);
  });

  it('encodes each event and each shared batch once for 100 subscribers', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store), store);
    const readers = Array.from(
      { length: 100 },
      (_, i) =>
        new Reader(hub.subscribe('tablets', i % 2 === 0 ? {} : { filter: (path) => !path.startsWith('tablets/skip') })),
    );
    for (const reader of readers) {
      await reader.next();
      await reader.next();
    }
    let eventEncodes = 0;
    let batchEncodes = 0;
    const encodeEvent = (event: HubEvent): string => {
      eventEncodes += 1;
      return describeEvent(event);
    };
    const encodeBatch = (batch: BatchMessage): string => {
      batchEncodes += 1;
      return batch.events.map(describeEvent).join(',');
    };
    let last = 0n;
    for (let i = 0; i < 20; i++) last = await store.update(`tablets/t${i % 3}/Tablet`, text(`v${i}`), null);
    last = await store.commit({
      expect: [],
      ops: [
        { type: 'put', path: 'tablets/a/Tablet', contents: text('a') },
        { type: 'put', path: 'tablets/skip/Tablet', contents: text('s') },
      ],
    });
    for (const reader of readers) {
      while (reader.view.position < last) {
        const message = await reader.next();
        if (message.kind !== 'batch') continue;
        encodeOnce(message, encodeBatch);
        for (const event of message.events) encodeOnce(event, encodeEvent);
      }
    }
    expect(eventEncodes).toBe(22);
    // 21 batches shared by everyone, plus one per filtered subscriber for the batch it trims.
    expect(batchEncodes).toBe(21 + 50);
  });

  it('heals a lost backend watch by re-listing: one resync batch, exact state, continuous history', async () => {
    const { store: inner } = memoryStore();
    const flaky = new FlakyStore(inner);
    const hub = track(new WatchHub(flaky.store), inner);
    for (let i = 1; i <= 4; i++) await inner.create(`tablets/t${i}/Tablet`, text(`v${i}`));
    const early = new Reader(hub.subscribe('tablets'));
    await early.next();
    await early.next();
    const beforeUpdate = new ClientView();
    beforeUpdate.files = new Map(early.view.files);
    beforeUpdate.position = early.view.position;
    const reader = new Reader(hub.subscribe('tablets'));
    await reader.next();
    await reader.next();
    const k = await inner.update('tablets/t1/Tablet', text('v1b'), null);
    await reader.catchUp(k);

    flaky.unavailableOpens = 1_000_000;
    flaky.breakWatches(new TopoError(TopoErrorCode.Compacted, 'injected: history lost'));
    await inner.update('tablets/t2/Tablet', text('v2b'), null);
    await inner.delete('tablets/t3/Tablet', null);
    await inner.create('tablets/t5/Tablet', text('v5'));
    await inner.update('tablets/t1/Tablet', text('v1c'), null);
    const s = await inner.update('tablets/t1/Tablet', text('v1d'), null);

    // Unreachable: subscribers keep their stream and their view; newcomers get the cached view.
    expect(await reader.read(100)).toBeUndefined();
    expect(reader.subscription.ended.aborted).toBe(false);
    expect(hub.stats().prefixes[0].state).toBe('healing');
    const newcomer = new Reader(hub.subscribe('tablets'));
    expect((await newcomer.next()).revision).toBe(k);
    await newcomer.next();

    flaky.unavailableOpens = 0;
    const resync = (await reader.next(5000)) as BatchMessage;
    expect(resync).toMatchObject({ kind: 'batch', revision: s, resync: true });
    expect(resync.events.map(describeEvent)).toEqual([
      'put tablets/t1/Tablet=v1d',
      'put tablets/t2/Tablet=v2b',
      'delete tablets/t3/Tablet',
      'put tablets/t5/Tablet=v5',
    ]);
    const stored = await storeFiles(inner, 'tablets');
    expect(reader.view.files).toEqual(stored);
    expect(await newcomer.next()).toBe(resync);
    expect(newcomer.view.files).toEqual(stored);
    expect(hub.stats().prefixes[0]).toMatchObject({ state: 'live', resyncs: 1, backendOpens: 2 });

    // The history stays continuous across the resync: a resume from before it is exact.
    const resumed = new Reader(hub.subscribe('tablets', { fromRevision: beforeUpdate.position + 1n }), beforeUpdate);
    await resumed.catchUp(s);
    expect(beforeUpdate.batches.map((b) => [b.revision, b.resync])).toEqual([
      [k, false],
      [s, true],
    ]);
    expect(beforeUpdate.files).toEqual(stored);
    // A position inside the healed gap was never served here; no delta can fix it.
    expect(await codeOf(new Reader(hub.subscribe('tablets', { fromRevision: k + 2n })).next())).toBe(TopoErrorCode.Compacted);

    const after = await inner.update('tablets/t4/Tablet', text('v4b'), null);
    expect(await reader.next()).toMatchObject({ revision: after, events: [{ path: 'tablets/t4/Tablet' }] });
    expect((await early.next()).revision).toBe(k);
    expect(await early.next()).toBe(resync);
  });

  it('re-lists after a backend watch that ends without an error, emitting nothing when nothing changed', async () => {
    const { store: inner } = memoryStore();
    const flaky = new FlakyStore(inner);
    const logs: string[] = [];
    const hub = track(new WatchHub(flaky.store, { log: (message) => logs.push(message) }), inner);
    await inner.create('tablets/t1/Tablet', text('1'));
    const reader = new Reader(hub.subscribe('tablets'));
    await reader.next();
    await reader.next();
    flaky.breakWatches();
    await eventually(() => hub.stats().prefixes[0].backendOpens === 2);
    const next = await inner.update('tablets/t1/Tablet', text('2'), null);
    expect(await reader.next()).toMatchObject({ revision: next, events: [{ type: 'put' }] });
    expect(hub.stats().prefixes[0].resyncs).toBe(0);
    expect(logs).toContain('watch hub: backend watch lost; re-listing');
  });

  it('ends iteration cleanly on close() and on abort; hub.close() fails subscribers with Interrupted and ends the backend watch', async () => {
    const { store, engine } = memoryStore();
    const hub = track(new WatchHub(store), store);
    const closing = hub.subscribe('tablets');
    const closingIterator = closing[Symbol.asyncIterator]();
    await closingIterator.next();
    await closingIterator.next();
    const pending = closingIterator.next();
    closing.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(closing.ended.aborted).toBe(true);

    const controller = new AbortController();
    const aborted = hub.subscribe('tablets', { signal: controller.signal });
    const abortedIterator = aborted[Symbol.asyncIterator]();
    await abortedIterator.next();
    await abortedIterator.next();
    const waiting = abortedIterator.next();
    controller.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });

    const remaining = new Reader(hub.subscribe('tablets'));
    await remaining.next();
    await remaining.next();
    expect(hub.stats().subscribers).toBe(1);
    expect(engine.watcherCount).toBe(1);
    await hub.close();
    expect(await codeOf(remaining.next())).toBe(TopoErrorCode.Interrupted);
    expect(await codeOf(new Reader(hub.subscribe('tablets')).next())).toBe(TopoErrorCode.Interrupted);
    expect(hub.stats().backendWatches).toBe(0);
    expect(engine.watcherCount).toBe(0);
  });

  it('closes the backend watch of a prefix idleCloseMs after its last subscriber leaves', async () => {
    const { store, engine } = memoryStore();
    const hub = track(new WatchHub(store, { idleCloseMs: 40 }), store);
    const reader = new Reader(hub.subscribe('tablets'));
    await reader.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([hub.stats().backendWatches, engine.watcherCount]).toEqual([1, 1]);
    reader.subscription.close();
    await eventually(() => hub.stats().backendWatches === 0 && engine.watcherCount === 0, 2000);
  });

  it('fails the subscribers of an invalid prefix with InvalidArgument and keeps no backend watch', async () => {
    const { store } = memoryStore();
    const hub = track(new WatchHub(store), store);
    expect(await codeOf(new Reader(hub.subscribe('tablets//x')).next())).toBe(TopoErrorCode.InvalidArgument);
    expect(hub.stats().backendWatches).toBe(0);
  });
});
