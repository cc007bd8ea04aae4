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
import type { BatchMessage, HubEvent, HubFilter, SnapshotMessage, SubscribeOptions } from './messages';
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
  private sharedSnapshot: SnapshotMessage | undefined;
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
  ) {}

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

  subscribe(options: SubscribeOptions): HubSubscription {
    const subscription = new HubSubscription(this.prefix, this, options);
    this.subscribers.add(subscription);
    this.idleSince = undefined;
    subscription.begin();
    this.running ??= this.run().catch((err: unknown) => {
      this.settings.log('watch hub: prefix watch failed', { prefix: this.prefix, error: String(err) });
      this.fatal(err);
    });
    return subscription;
  }

  detach(subscription: HubSubscription): void {
    if (this.subscribers.delete(subscription) && this.subscribers.size === 0) this.idleSince = this.now();
  }

  snapshot(filter: HubFilter | undefined): SnapshotMessage {
    this.sorted ??= Object.freeze([...this.cache.values()].sort(byPath));
    if (filter) {
      const entries = this.sorted.filter((entry) => filter(entry.path, entry.contents));
      return Object.freeze({ kind: 'snapshot', revision: this.known, entries: Object.freeze(entries) });
    }
    const shared = this.sharedSnapshot;
    if (shared?.revision === this.known && shared.entries === this.sorted) return shared;
    this.sharedSnapshot = Object.freeze({ kind: 'snapshot', revision: this.known, entries: this.sorted });
    return this.sharedSnapshot;
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
    return this.idleSince === undefined ? -1 : now - this.idleSince;
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
  }

  private append(message: BatchMessage, resyncBase?: bigint): void {
    const entry: HistoryEntry = this.history.append(message.revision, message, this.now(), resyncBase);
    this.history.trim(this.now(), this.settings.historyWindowMs, this.settings.historyMaxEvents);
    for (const subscription of this.subscribers) subscription.offer(entry);
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
