import { invalidArgument } from '../store';

export type HubLog = (message: string, fields?: object) => void;

export interface WatchHubOptions {
  /** Batches younger than this stay in the history (unless over historyMaxEvents). Default 5 min. */
  historyWindowMs?: number;
  /** Hard cap on the events held in one prefix's history, whatever their age. Default 100,000. */
  historyMaxEvents?: number;
  /** A waiting subscriber that got nothing for this long gets a bookmark. Default 10 s. */
  bookmarkIntervalMs?: number;
  /** Undelivered batches a subscriber may have before it is cut. Default 1,000. */
  queueLimit?: number;
  /** Close a prefix's backend watch this long after its last subscriber left. Default: historyWindowMs. */
  idleCloseMs?: number;
  log?: HubLog;
  /** Clock in ms, for the history's age limit and the idle timers. Default Date.now. */
  now?: () => number;
  /**
   * Prefixes watched with one backend watch each: a subscription to any directory below
   * one is served by that watch. Default: none (each subscribed prefix is its own watch).
   * A service that passes [''] holds one backend watch per process, whatever is watched.
   */
  roots?: readonly string[];
  /**
   * After each dispatch (one event-loop turn's batches offered to every subscriber): the
   * time from the oldest batch's arrival to the end of the loop, and the subscriber count.
   */
  onDispatch?: (latencyMs: number, subscribers: number) => void;
}

export interface HubSettings {
  readonly historyWindowMs: number;
  readonly historyMaxEvents: number;
  readonly bookmarkIntervalMs: number;
  readonly queueLimit: number;
  readonly idleCloseMs: number;
  readonly log: HubLog;
  readonly now: () => number;
  readonly roots: readonly string[];
  readonly onDispatch?: (latencyMs: number, subscribers: number) => void;
  /** How often the shared timer runs: bookmarks, age trimming, idle closing. */
  readonly tickMs: number;
}

const MIN_TICK_MS = 5;
const MAX_TICK_MS = 1000;

export function resolveOptions(options: WatchHubOptions): HubSettings {
  const historyWindowMs = positive('historyWindowMs', options.historyWindowMs ?? 300_000);
  const bookmarkIntervalMs = positive('bookmarkIntervalMs', options.bookmarkIntervalMs ?? 10_000);
  const idleCloseMs = nonNegative('idleCloseMs', options.idleCloseMs ?? historyWindowMs);
  return {
    historyWindowMs,
    historyMaxEvents: wholePositive('historyMaxEvents', options.historyMaxEvents ?? 100_000),
    bookmarkIntervalMs,
    queueLimit: wholePositive('queueLimit', options.queueLimit ?? 1000),
    idleCloseMs,
    log: options.log ?? ((): void => undefined),
    now: options.now ?? ((): number => Date.now()),
    roots: options.roots ?? [],
    onDispatch: options.onDispatch,
    // A quarter of the shortest period keeps bookmarks within 1.25 intervals of idleness.
    tickMs: Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.min(bookmarkIntervalMs, idleCloseMs) / 4)),
  };
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw invalidArgument(`${name} ${value} must be a finite number > 0`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw invalidArgument(`${name} ${value} must be a finite number >= 0`);
  return value;
}

function wholePositive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw invalidArgument(`${name} ${value} must be a whole number >= 1`);
  return value;
}
