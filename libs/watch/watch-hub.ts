import { interrupted, invalidArgument, type Store } from '../store';
import { resolveOptions, type HubSettings, type WatchHubOptions } from './hub-options';
import type { WatchHubStats } from './hub-stats';
import type { SubscribeOptions, Subscription } from './messages';
import { PrefixWatch } from './prefix-watch';
import { HubSubscription } from './subscription';

/**
 * The watch hub: one backend watch per prefix per process, fanned out to any number of
 * subscribers. Snapshots and resumes are served from memory; subscribers share the batch
 * objects; one timer serves bookmarks, history aging and idle closing for all of them.
 * Never blocks on a subscriber. See docs/watch.md.
 */
export class WatchHub {
  private readonly settings: HubSettings;
  private readonly prefixes = new Map<string, PrefixWatch>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    options: WatchHubOptions = {},
  ) {
    this.settings = resolveOptions(options);
  }

  /**
   * Subscribes to every file under `prefix` (a directory path, as for
   * Store.watchRecursive). Never throws: every failure surfaces from the iteration.
   */
  subscribe(prefix: string, options: SubscribeOptions = {}): Subscription {
    const key = normalizePrefix(prefix);
    if (this.closed) return HubSubscription.failed(key, interrupted('watch hub is closed'));
    if (options.fromRevision !== undefined && options.fromRevision < 1n) {
      return HubSubscription.failed(key, invalidArgument(`fromRevision ${options.fromRevision} must be >= 1`));
    }
    let watch = this.prefixes.get(key);
    if (watch === undefined) {
      watch = new PrefixWatch(key, this.store, this.settings, (failed) => this.forget(failed));
      this.prefixes.set(key, watch);
      this.startTimer();
    }
    return watch.subscribe(options);
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

/** 'tablets' and 'tablets/' name one directory, '' and '/' the root: one backend watch each. */
function normalizePrefix(prefix: string): string {
  if (prefix === '/') return '';
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}
