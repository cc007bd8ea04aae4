import type { WatchEvent, WatchResponse } from '../engine';
import { TopoError, TopoErrorCode, interrupted } from '../errors';
import { type RevisionEntry, copyKeyValue } from './mvcc';
import { Queue } from './queue';

/** What a watch reads history from. */
export interface WatchSource {
  readonly revision: bigint;
  /** Throws Compacted when `revision` is older than the retained history. */
  assertRetained(revision: bigint): void;
  replay(from: bigint): Iterable<RevisionEntry>;
}

export interface WatchSpec {
  key: string;
  prefix: boolean;
  /** First revision to deliver. */
  startRevision: bigint;
  progressNotify: boolean;
  signal: AbortSignal | undefined;
}

type Result = IteratorResult<WatchResponse, undefined>;

interface Waiter {
  resolve(result: Result): void;
  reject(error: unknown): void;
}

const DONE: Result = { done: true, value: undefined };

const copyResponse = (response: WatchResponse): WatchResponse => ({
  revision: response.revision,
  events: response.events.map((event) => ({ type: event.type, kv: copyKeyValue(event.kv) })),
});

/**
 * The live watches of one engine. Writers hand each committed revision to every watch
 * synchronously and never wait on a reader: a slow reader's backlog grows in its own
 * queue (it is the same process, so the writer is what bounds it).
 */
export class WatchHub {
  private readonly streams = new Set<WatchStream>();
  private progressStreams = 0;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly source: WatchSource,
    private readonly progressIntervalMs: number,
  ) {}

  /** Watches currently registered (started and not ended). */
  get size(): number {
    return this.streams.size;
  }

  open(spec: WatchSpec): WatchStream {
    return new WatchStream(this, spec);
  }

  /**
   * Replays what the stream asked for from history and registers it for what follows, in
   * one synchronous step: no revision can be committed in between, so none is missed and
   * none arrives twice.
   */
  attach(stream: WatchStream): void {
    if (this.closed) throw new TopoError(TopoErrorCode.Unavailable, 'memory engine is closed');
    this.source.assertRetained(stream.startRevision);
    for (const entry of this.source.replay(stream.startRevision)) stream.offer(entry);
    this.streams.add(stream);
    if (stream.progressNotify) {
      this.progressStreams += 1;
      if (!this.ticker) {
        this.ticker = setInterval(() => this.tick(), this.progressIntervalMs);
        this.ticker.unref();
      }
    }
  }

  detach(stream: WatchStream): void {
    if (!this.streams.delete(stream) || !stream.progressNotify) return;
    this.progressStreams -= 1;
    if (this.progressStreams === 0) this.stopTicker();
  }

  publish(entry: RevisionEntry): void {
    for (const stream of this.streams) stream.offer(entry);
  }

  close(reason: TopoError): void {
    this.closed = true;
    for (const stream of [...this.streams]) stream.fail(reason);
    this.stopTicker();
  }

  private tick(): void {
    const revision = this.source.revision;
    for (const stream of this.streams) {
      if (stream.progressNotify) stream.progress(revision);
    }
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

/**
 * One watch as an async iterator. It starts on the first `next()` (so an iterable that is
 * never iterated holds nothing), and `return()` (a `break` out of for-await) unregisters it.
 */
export class WatchStream implements AsyncIterableIterator<WatchResponse, undefined> {
  private state: 'new' | 'live' | 'ended' = 'new';
  private readonly backlog = new Queue<WatchResponse>();
  private readonly waiters: Waiter[] = [];
  private failure: { error: unknown } | undefined;
  private nextRevision: bigint;
  private deliveredSinceTick = false;
  private readonly onAbort = (): void => this.fail(interrupted('watch cancelled'));

  constructor(
    private readonly hub: WatchHub,
    private readonly spec: WatchSpec,
  ) {
    this.nextRevision = spec.startRevision;
  }

  get startRevision(): bigint {
    return this.spec.startRevision;
  }

  get progressNotify(): boolean {
    return this.spec.progressNotify;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<Result> {
    if (this.state === 'new') this.start();
    const response = this.backlog.shift();
    if (response) return Promise.resolve({ done: false, value: copyResponse(response) });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.state === 'ended') return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<Result> {
    this.failure = undefined;
    this.finish();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
    return Promise.resolve(DONE);
  }

  /** Takes the events of one revision that this watch wants, once per revision. */
  offer(entry: RevisionEntry): void {
    if (entry.revision < this.nextRevision) return;
    this.nextRevision = entry.revision + 1n;
    const events = entry.events.filter((event) => this.matches(event));
    if (events.length === 0) return;
    this.deliveredSinceTick = true;
    this.deliver({ revision: entry.revision, events });
  }

  /** An idle watch (nothing sent since the last tick, nothing unread) hears it is current. */
  progress(revision: bigint): void {
    if (!this.deliveredSinceTick && this.backlog.length === 0) this.deliver({ revision, events: [] });
    this.deliveredSinceTick = false;
  }

  /** Ends the watch: the pending read, or else the next one, throws `error`. */
  fail(error: unknown): void {
    if (this.state === 'ended') return;
    this.finish();
    const waiter = this.waiters.shift();
    if (!waiter) {
      this.failure = { error };
      return;
    }
    waiter.reject(error);
    for (const other of this.waiters.splice(0)) other.resolve(DONE);
  }

  private start(): void {
    this.state = 'live';
    if (this.spec.signal?.aborted) {
      this.fail(interrupted('watch cancelled'));
      return;
    }
    try {
      this.hub.attach(this);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.spec.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private finish(): void {
    if (this.state === 'live') {
      this.hub.detach(this);
      this.spec.signal?.removeEventListener('abort', this.onAbort);
    }
    this.state = 'ended';
    this.backlog.clear();
  }

  private deliver(response: WatchResponse): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ done: false, value: copyResponse(response) });
    else this.backlog.push(response);
  }

  private matches(event: WatchEvent): boolean {
    return this.spec.prefix ? event.kv.key.startsWith(this.spec.key) : event.kv.key === this.spec.key;
  }
}
