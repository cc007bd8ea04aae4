import { interrupted, invalidArgument, type KVInfo, type Store } from '../store';
import { resolveOptions, type HubSettings, type WatchHubOptions } from './hub-options';
import type { WatchHubStats } from './hub-stats';
import type { HubSink, PushSubscription, SubscribeOptions, Subscription } from './messages';
import { PrefixWatch } from './prefix-watch';
import { dirCovers, normalizeDir, scopeOf } from './scope';
import { HubSubscription } from './subscription';
import { IteratorSubscription } from './subscription-iterator';

/**
 * The watch hub: one backend watch per prefix per process (or per configured root),
 * fanned out to any number of subscribers by push. Snapshots and resumes are served from
 * memory; subscribers share the batch objects; one timer serves bookmarks, history aging
 * and idle closing for all of them. Never blocks on a subscriber. See docs/watch.md.
 */
export class WatchHub {
  private readonly settings: HubSettings;
  private readonly prefixes = new Map<string, PrefixWatch>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private unreachableSince: number | undefined;

  constructor(
    private readonly store: Store,
    options: WatchHubOptions = {},
  ) {
    this.settings = resolveOptions(options);
  }

  /**
   * Subscribes to every file under `prefix` (a directory path, as for
   * Store.watchRecursive, or several directories served by one backend watch), read as an
   * async iterator. Never throws: every failure surfaces from the iteration.
   */
  subscribe(prefix: string | readonly string[], options: SubscribeOptions = {}): Subscription {
    const dirs = typeof prefix === 'string' ? [prefix] : prefix;
    const iterator = new IteratorSubscription(normalizeDir(dirs[0] ?? ''));
    iterator.attach(this.watch(dirs, options, iterator));
    return iterator;
  }

  /**
   * Subscribes a push sink (a transport): the hub calls `sink.send` synchronously as
   * batches arrive, and after it returned false waits for `resume()`. Never throws: every
   * failure reaches `sink.end`.
   */
  watch(prefix: string | readonly string[], options: SubscribeOptions, sink: HubSink): PushSubscription {
    const scope = scopeOf(typeof prefix === 'string' ? [prefix] : prefix);
    if (this.closed) return HubSubscription.failed(scope, sink, interrupted('watch hub is closed'));
    if (options.fromRevision !== undefined && options.fromRevision < 1n) {
      return HubSubscription.failed(scope, sink, invalidArgument(`fromRevision ${options.fromRevision} must be >= 1`));
    }
    const key = this.watchKeyFor(scope.dirs);
    if (key === undefined) {
      return HubSubscription.failed(scope, sink, invalidArgument(`${scope.label}: directories of one subscription must share a watched root`));
    }
    return this.watchFor(key).subscribe(scope, options, sink);
  }

  private watchFor(key: string): PrefixWatch {
    let watch = this.prefixes.get(key);
    if (watch === undefined) {
      watch = new PrefixWatch(key, this.store, this.settings, (failed) => this.forget(failed), this.unreachableSince);
      this.prefixes.set(key, watch);
      this.startTimer();
    }
    return watch;
  }

  /**
   * Keeps the backend watch serving `prefix` open for the hub's life, subscribers or not,
   * so `peek` can answer from its cache.
   */
  keepOpen(prefix = ''): void {
    const key = this.watchKeyFor([normalizeDir(prefix)]);
    if (key === undefined || this.closed) return;
    this.watchFor(key).pin();
  }

  /**
   * What the hub's cache holds for `path` while a live backend watch covers it: `{ value }`,
   * value undefined when there is no such file. Undefined when the hub cannot say (no
   * watch, or one still opening or healing). It may lag the backend by a moment.
   */
  peek(path: string): { value?: KVInfo } | undefined {
    const slash = path.lastIndexOf('/');
    const key = this.watchKeyFor([slash === -1 ? '' : path.slice(0, slash)]);
    return key === undefined ? undefined : this.prefixes.get(key)?.peek(path);
  }

  /**
   * Whether the backend can be reached (the process's health probe says so). While it
   * cannot, the backend watches keep retrying on their own and every subscriber is told,
   * once caught up, that its view is current to its revision and may be stale since when;
   * then told again when it is live.
   */
  setBackendReachable(reachable: boolean): void {
    if (reachable === (this.unreachableSince === undefined)) return;
    this.unreachableSince = reachable ? undefined : this.settings.now();
    for (const watch of this.prefixes.values()) watch.setUnreachableSince(this.unreachableSince);
  }

  stats(): WatchHubStats {
    const prefixes = [...this.prefixes.values()].map((watch) => watch.stats());
    const sum = (pick: (p: (typeof prefixes)[number]) => number): number =>
      prefixes.reduce((total, p) => total + pick(p), 0);
    return {
      backendWatches: prefixes.length,
      subscribers: sum((p) => p.subscribers),
      cachedKeys: sum((p) => p.cachedKeys),
      historyBatches: sum((p) => p.historyBatches),
      historyEvents: sum((p) => p.historyEvents),
      maxBacklog: prefixes.reduce((max, p) => Math.max(max, p.maxBacklog), 0),
      eventsReceived: sum((p) => p.eventsReceived),
      messagesSent: sum((p) => p.messagesSent),
      messagesMerged: sum((p) => p.messagesMerged),
      subscribersCut: sum((p) => p.subscribersCut),
      prefixes,
    };
  }

  /** Ends every backend watch; every subscription's iteration throws Interrupted. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    const watches = [...this.prefixes.values()];
    this.prefixes.clear();
    await Promise.all(watches.map((watch) => watch.close()));
  }

  /**
   * The backend watch serving `dirs`: the configured root covering all of them, else the
   * one directory itself. Undefined for several directories that no root covers.
   */
  private watchKeyFor(dirs: readonly string[]): string | undefined {
    const root = this.settings.roots.map(normalizeDir).find((candidate) => dirs.every((dir) => dirCovers(candidate, dir)));
    if (root !== undefined) return root;
    return dirs.length === 1 ? dirs[0] : undefined;
  }

  private tick(): void {
    const now = this.settings.now();
    for (const [key, watch] of this.prefixes) {
      if (watch.idleFor(now) >= this.settings.idleCloseMs) {
        this.prefixes.delete(key);
        void watch.close();
      } else {
        watch.tick(now);
      }
    }
    if (this.prefixes.size === 0) this.stopTimer();
  }

  private forget(watch: PrefixWatch): void {
    if (this.prefixes.get(watch.prefix) === watch) this.prefixes.delete(watch.prefix);
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.settings.tickMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
