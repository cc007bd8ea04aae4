import {
  TopoError,
  TopoErrorCode,
  interrupted,
  type KVInfo,
  type RecursiveBatch,
  type RecursiveWatch,
  type Store,
} from '../store';
import { History, type HistoryEntry } from './history';
import type { HubSettings } from './hub-options';
import type { PrefixStats } from './hub-stats';
import type { BatchMessage, HubEvent, HubFilter, HubSink, SnapshotMessage, SubscribeOptions } from './messages';
import { dirRange, type Scope } from './scope';
import { diffSnapshot } from './snapshot-diff';
import { HubSubscription, type SubscriptionSource } from './subscription';

const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

/**
 * One watched prefix: a single backend watch, the files it has seen (path -> value) and the
 * history of its batches, shared by every subscriber of the prefix. When the backend watch
 * ends for any reason but our own close, it re-lists and emits one resync batch.
 */
export class PrefixWatch implements SubscriptionSource {
  private readonly subscribers = new Set<HubSubscription>();
  private readonly cache = new Map<string, KVInfo>();
  private sorted: readonly KVInfo[] | undefined;
  /** Snapshots at the current revision, per scope and filter key: shared by their subscribers. */
  private readonly snapshots = new Map<string, SnapshotMessage>();
  /** Filtered views of history batches, per scope and filter key. */
  private readonly selections = new WeakMap<HistoryEntry, Map<string, BatchMessage | undefined>>();
  private flushScheduled = false;
  private unreachable: number | undefined;
  private pinned = false;
  private readonly counters = { batches: 0, events: 0, messages: 0, merged: 0, cut: 0 };
  readonly history = new History(0n);
  private known = 0n;
  private phase: 'opening' | 'live' | 'healing' | 'closed' = 'opening';
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private opens = 0;
  private resyncs = 0;
  private idleSince: number | undefined;

  constructor(
    readonly prefix: string,
    private readonly store: Store,
    private readonly settings: HubSettings,
    /** Told when the prefix cannot be watched at all (e.g. an invalid path). */
    private readonly onFatal: (watch: PrefixWatch) => void,
    unreachableSince?: number,
  ) {
    this.unreachable = unreachableSince;
  }

  setUnreachableSince(since: number | undefined): void {
    this.unreachable = since;
    for (const subscription of this.subscribers) subscription.onStatus();
  }

  get ready(): boolean {
    return this.phase === 'live' || this.phase === 'healing';
  }

  get revision(): bigint {
    return this.known;
  }

  get queueLimit(): number {
    return this.settings.queueLimit;
  }

  now(): number {
    return this.settings.now();
  }

  subscribe(scope: Scope, options: SubscribeOptions, sink: HubSink): HubSubscription {
    const subscription = new HubSubscription(scope, this, options, sink);
    this.subscribers.add(subscription);
    this.idleSince = undefined;
    subscription.begin();
    this.running ??= this.run().catch((err: unknown) => {
      this.settings.log('watch hub: prefix watch failed', { prefix: this.prefix, error: String(err) });
      this.fatal(err);
    });
    return subscription;
  }

  /** Keeps the backend watch open without subscribers (never idle-closed): a warm cache for peek. */
  pin(): void {
    this.pinned = true;
    this.idleSince = undefined;
    this.running ??= this.run().catch((err: unknown) => {
      this.settings.log('watch hub: prefix watch failed', { prefix: this.prefix, error: String(err) });
      this.fatal(err);
    });
  }

  /** The cached file while the watch is live: `{ value }` (undefined value: no such file); else undefined. */
  peek(path: string): { value?: KVInfo } | undefined {
    if (this.phase !== 'live') return undefined;
    return { value: this.cache.get(path) };
  }

  detach(subscription: HubSubscription): void {
    if (this.subscribers.delete(subscription) && this.subscribers.size === 0) this.idleSince = this.now();
  }

  snapshot(scope: Scope, options: SubscribeOptions): SnapshotMessage {
    const { filter, filterKey } = options;
    const key = filter === undefined ? scope.key : filterKey === undefined ? undefined : `${scope.key}\0${filterKey}`;
    const shared = key === undefined ? undefined : this.snapshots.get(key);
    if (shared?.revision === this.known) return shared;
    this.sorted ??= Object.freeze([...this.cache.values()].sort(byPath));
    let entries: readonly KVInfo[];
    if (scope.dirs.length === 1 && scope.dirs[0] === this.prefix && !filter) {
      entries = this.sorted;
    } else {
      const selected: KVInfo[] = [];
      for (const dir of scope.dirs) {
        const [start, end] = dirRange(this.sorted, dir);
        for (let i = start; i < end; i++) {
          const entry = this.sorted[i];
          if (!filter || filter(entry.path, entry.contents)) selected.push(entry);
        }
      }
      if (scope.dirs.length > 1) selected.sort(byPath);
      entries = Object.freeze(selected);
    }
    const snapshot: SnapshotMessage = Object.freeze({ kind: 'snapshot', revision: this.known, entries });
    if (key !== undefined) this.snapshots.set(key, snapshot);
    return snapshot;
  }

  select(entry: HistoryEntry, scope: Scope, options: SubscribeOptions): BatchMessage | undefined {
    const { filter, filterKey } = options;
    const whole = scope.dirs.length === 1 && scope.dirs[0] === this.prefix;
    if (whole && !filter) return entry.message;
    const key = filter === undefined ? scope.key : filterKey === undefined ? undefined : `${scope.key}\0${filterKey}`;
    if (key === undefined) return selectBatch(entry.message, scope, options);
    let byKey = this.selections.get(entry);
    if (!byKey) this.selections.set(entry, (byKey = new Map()));
    if (byKey.has(key)) return byKey.get(key);
    const selected = selectBatch(entry.message, scope, options);
    byKey.set(key, selected);
    return selected;
  }

  unreachableSince(): number | undefined {
    return this.unreachable;
  }

  confirmAhead(revision: bigint): Promise<boolean> {
    return this.store.currentRevision().then((current) => current >= revision);
  }

  trim(): void {
    if (this.history.trim(this.now(), this.settings.historyWindowMs, this.settings.historyMaxEvents) === 0) return;
    for (const subscription of this.subscribers) subscription.enforceLimits();
  }

  /** The shared timer: age trimming and bookmarks. */
  tick(now: number): void {
    if (!this.ready) return;
    this.trim();
    for (const subscription of this.subscribers) {
      subscription.bookmark(this.known, now, this.settings.bookmarkIntervalMs);
    }
  }

  /** How long the prefix has had no subscriber (-1 while it has some). */
  idleFor(now: number): number {
    return this.idleSince === undefined || this.pinned ? -1 : now - this.idleSince;
  }

  /** Ends the backend watch; remaining subscribers fail with `reason`. */
  async close(reason: TopoError = interrupted('watch hub closed')): Promise<void> {
    this.phase = 'closed';
    this.abort.abort();
    for (const subscription of [...this.subscribers]) subscription.fail(reason);
    await this.running;
  }

  stats(): PrefixStats {
    let maxBacklog = 0;
    for (const subscription of this.subscribers) maxBacklog = Math.max(maxBacklog, subscription.backlog());
    return {
      prefix: this.prefix,
      state: this.phase,
      subscribers: this.subscribers.size,
      cachedKeys: this.cache.size,
      revision: this.known,
      historyFloor: this.history.floor,
      historyBatches: this.history.batchCount,
      historyEvents: this.history.eventCount,
      backendOpens: this.opens,
      resyncs: this.resyncs,
      maxBacklog,
      batchesReceived: this.counters.batches,
      eventsReceived: this.counters.events,
      messagesSent: this.counters.messages,
      messagesMerged: this.counters.merged,
      subscribersCut: this.counters.cut,
      unreachableSince: this.unreachable,
    };
  }

  /** List and watch, apply, and on any loss list again: until closed. */
  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let watch: RecursiveWatch;
      try {
        watch = await this.store.watchRecursive(this.prefix, { progressNotify: true, signal });
      } catch (err) {
        if (signal.aborted) return;
        if (this.phase === 'opening' && !TopoError.is(err, TopoErrorCode.Unavailable)) {
          this.fatal(err);
          return;
        }
        failures += 1;
        this.settings.log('watch hub: cannot list the prefix; retrying', {
          prefix: this.prefix,
          attempt: failures,
          error: String(err),
        });
        await pause(retryDelay(failures), signal);
        continue;
      }
      this.opens += 1;
      this.install(watch.current, watch.revision);
      let lost: unknown = new Error('backend watch ended');
      try {
        for await (const batch of watch.changes) {
          this.apply(batch);
          failures = 0;
        }
      } catch (err) {
        lost = err;
      }
      if (signal.aborted) return;
      this.phase = 'healing';
      this.settings.log('watch hub: backend watch lost; re-listing', {
        prefix: this.prefix,
        revision: this.known.toString(),
        error: String(lost),
      });
      // Compacted is answered by listing at once; anything else may repeat, so back off.
      if (!TopoError.is(lost, TopoErrorCode.Compacted)) {
        failures += 1;
        await pause(retryDelay(failures), signal);
      }
    }
  }

  /** A fresh snapshot: the first one initializes the prefix, a later one heals it. */
  private install(entries: readonly KVInfo[], revision: bigint): void {
    if (this.phase === 'opening') {
      this.reset(entries, revision);
      for (const subscription of [...this.subscribers]) subscription.onReady();
      return;
    }
    const events = diffSnapshot(this.cache, entries, revision);
    if (revision < this.known || (revision === this.known && events.length > 0)) {
      // The backend went back in time (restored from a backup): no delta can describe it.
      this.settings.log('watch hub: backend revision went backwards; subscribers must re-list', {
        prefix: this.prefix,
        from: this.known.toString(),
        to: revision.toString(),
      });
      const reason = new TopoError(
        TopoErrorCode.Compacted,
        `the backend of ${JSON.stringify(this.prefix)} went back from revision ${this.known} to ${revision}; re-list`,
      );
      for (const subscription of [...this.subscribers]) subscription.fail(reason);
      this.reset(entries, revision);
      return;
    }
    const base = this.known;
    for (const event of events) this.applyToCache(event);
    this.known = revision;
    this.phase = 'live';
    if (events.length === 0) return;
    this.resyncs += 1;
    this.settings.log('watch hub: healed by re-listing', {
      prefix: this.prefix,
      from: base.toString(),
      to: revision.toString(),
      events: events.length,
    });
    this.append(Object.freeze({ kind: 'batch', revision, events: Object.freeze(events), resync: true }), base);
  }

  private reset(entries: readonly KVInfo[], revision: bigint): void {
    this.cache.clear();
    for (const entry of entries) {
      this.cache.set(entry.path, Object.freeze({ path: entry.path, contents: entry.contents, version: entry.version }));
    }
    this.sorted = undefined;
    this.snapshots.clear();
    this.known = revision;
    this.history.reset(revision);
    this.phase = 'live';
  }

  private apply(batch: RecursiveBatch): void {
    if (batch.changes.length === 0) {
      if (batch.revision > this.known) this.known = batch.revision;
      return;
    }
    const events = batch.changes.map((change): HubEvent => {
      const previous = this.cache.get(change.path)?.contents;
      const event: HubEvent =
        change.type === 'put'
          ? Object.freeze({ type: 'put', path: change.path, contents: change.contents, version: change.version, previous })
          : Object.freeze({ type: 'delete', path: change.path, version: change.version, previous });
      this.applyToCache(event);
      return event;
    });
    if (batch.revision > this.known) this.known = batch.revision;
    this.append(Object.freeze({ kind: 'batch', revision: batch.revision, events: Object.freeze(events) }));
  }

  private applyToCache(event: HubEvent): void {
    if (event.type === 'put') {
      this.cache.set(event.path, Object.freeze({ path: event.path, contents: event.contents, version: event.version }));
    } else {
      this.cache.delete(event.path);
    }
    this.sorted = undefined;
    this.snapshots.clear();
  }

  private append(message: BatchMessage, resyncBase?: bigint): void {
    this.history.append(message.revision, message, this.now(), resyncBase);
    this.counters.batches += 1;
    this.counters.events += message.events.length;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const arrived = this.now();
    setImmediate(() => this.flush(arrived));
  }

  /**
   * Once per event-loop turn in which batches arrived: every subscriber is offered all of
   * them at once, synchronously. One that keeps up gets one message; one whose transport
   * is full gets nothing now and everything, merged, when it drains.
   */
  private flush(arrived: number): void {
    this.flushScheduled = false;
    if (this.phase === 'closed') return;
    this.trim();
    for (const subscription of this.subscribers) subscription.pump();
    this.settings.onDispatch?.(this.now() - arrived, this.subscribers.size);
  }

  /** Told by a subscription for every message it sends. */
  countSent(transactions: number): void {
    this.counters.messages += 1;
    if (transactions > 1) this.counters.merged += 1;
  }

  countCut(): void {
    this.counters.cut += 1;
  }

  private fatal(err: unknown): void {
    this.phase = 'closed';
    this.abort.abort();
    for (const subscription of [...this.subscribers]) subscription.fail(err);
    this.onFatal(this);
  }
}

function byPath(a: KVInfo, b: KVInfo): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function retryDelay(failures: number): number {
  const base = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** Math.min(failures - 1, 10));
  return base / 2 + Math.random() * (base / 2);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The batch's events in `scope` that pass the filter: the batch itself when that is all of them. */
function selectBatch(batch: BatchMessage, scope: Scope, options: SubscribeOptions): BatchMessage | undefined {
  const { filter } = options;
  const events = batch.events.filter((event) => scope.contains(event.path) && (!filter || passes(filter, event)));
  if (events.length === batch.events.length) return batch;
  if (events.length === 0) return undefined;
  return Object.freeze({ ...batch, events: Object.freeze(events) });
}

function passes(filter: HubFilter, event: HubEvent): boolean {
  if (event.type === 'put' && filter(event.path, event.contents)) return true;
  if (event.previous !== undefined) return filter(event.path, event.previous);
  return event.type === 'delete' && filter(event.path, undefined);
}
