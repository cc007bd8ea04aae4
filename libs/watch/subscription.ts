import { TopoError, TopoErrorCode, interrupted } from '../store';
import { History, type HistoryEntry } from './history';
import type {
  BatchMessage,
  HubEvent,
  HubFilter,
  HubMessage,
  SnapshotMessage,
  SubscribeOptions,
  Subscription,
} from './messages';

/** What a subscription reads from: the shared state of one watched prefix. */
export interface SubscriptionSource {
  /** True once the prefix has a snapshot (it stays true while the backend is being healed). */
  readonly ready: boolean;
  readonly history: History;
  /** The latest revision the hub knows for the prefix (from events and progress marks). */
  readonly revision: bigint;
  readonly queueLimit: number;
  now(): number;
  /** The cached files at `revision`, filtered. */
  snapshot(filter: HubFilter | undefined): SnapshotMessage;
  /** Applies the history's age limit, so a resume point is judged against the real floor. */
  trim(): void;
  detach(subscription: HubSubscription): void;
}

type Result = IteratorResult<HubMessage, undefined>;

interface Waiter {
  resolve(result: Result): void;
  reject(error: unknown): void;
}

const DONE: Result = { done: true, value: undefined };

/**
 * One subscriber: a cursor into the prefix's shared history, not a copy of it. Batches are
 * read (and filtered) when the subscriber asks for them; one that is waiting gets a batch
 * the moment it is appended. Its undelivered backlog is the number of batches appended
 * since it joined that it has not consumed; past `queueLimit`, or once the history has
 * dropped a batch it still needs, it is cut with a resumable ResourceExhausted.
 */
export class HubSubscription implements Subscription, AsyncIterableIterator<HubMessage, undefined> {
  private state: 'waiting' | 'live' | 'ended' = 'waiting';
  /** Seq of the next history batch to consider. */
  private cursor = 0;
  /** History's nextSeq when the subscription started: older batches are replay, not backlog. */
  private joinSeq = 0;
  /** Snapshot and marker, before any batch. */
  private pending: HubMessage[] = [];
  private waiter: Waiter | undefined;
  private failure: { error: unknown } | undefined;
  private consumed = 0n;
  private lastSentAt = 0;
  private readonly endController = new AbortController();
  private readonly onAbort = (): void => this.close();

  constructor(
    readonly prefix: string,
    private readonly source: SubscriptionSource,
    private readonly options: SubscribeOptions,
  ) {
    const from = options.fromRevision;
    if (from !== undefined && from > 0n) this.consumed = from - 1n;
  }

  /** A subscription that fails at its first read: a closed hub, a bad argument. */
  static failed(prefix: string, error: unknown): HubSubscription {
    const subscription = new HubSubscription(prefix, CLOSED_SOURCE, {});
    subscription.fail(error);
    return subscription;
  }

  get lastRevision(): bigint {
    return this.consumed;
  }

  get ended(): AbortSignal {
    return this.endController.signal;
  }

  /** Called once the source has registered the subscription. */
  begin(): void {
    const { signal } = this.options;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<Result> {
    if (this.waiter) return Promise.reject(new Error('Subscription.next() called while a previous call is pending'));
    if (this.state === 'ended') {
      const failure = this.failure;
      this.failure = undefined;
      return failure ? Promise.reject(failure.error) : Promise.resolve(DONE);
    }
    let message: HubMessage | undefined;
    try {
      if (this.state === 'waiting') {
        if (!this.source.ready) return this.park();
        this.start();
      }
      message = this.take();
    } catch (err) {
      this.fail(err);
    }
    if (message) return Promise.resolve({ done: false, value: message });
    if (this.isEnded()) return this.next();
    return this.park();
  }

  return(): Promise<Result> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    if (this.state === 'ended') return;
    this.end();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
    this.endController.abort();
  }

  /** Ends the subscription: the pending read, or else the next one, throws `error`. */
  fail(error: unknown): void {
    if (this.state === 'ended') return;
    this.end();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.reject(error);
    else this.failure = { error };
    this.endController.abort(error);
  }

  /** The prefix became ready: a read waiting for it starts now. */
  onReady(): void {
    if (this.state !== 'waiting' || !this.waiter) return;
    this.resumeWaiter();
  }

  /** A batch was just appended to the history (and the history trimmed). */
  offer(entry: HistoryEntry): void {
    if (this.state !== 'live') return;
    if (this.waiter && this.pending.length === 0 && this.cursor === entry.seq) {
      this.cursor += 1;
      this.consumed = entry.revision;
      let message: BatchMessage | undefined;
      try {
        message = this.select(entry);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (message) this.deliver(message);
      return;
    }
    this.enforceLimits();
  }

  /** Cuts the subscription when its backlog is over the limit or history no longer holds it. */
  enforceLimits(): void {
    if (this.state !== 'live') return;
    if (this.cursor < this.source.history.firstSeq || this.backlog() > this.source.queueLimit) this.cut();
  }

  /** A waiting subscriber that got nothing for `intervalMs` learns it is current up to `revision`. */
  bookmark(revision: bigint, now: number, intervalMs: number): void {
    if (this.state !== 'live' || !this.waiter || this.pending.length > 0) return;
    if (this.cursor !== this.source.history.nextSeq || now - this.lastSentAt < intervalMs) return;
    if (revision > this.consumed) this.consumed = revision;
    this.deliver(Object.freeze({ kind: 'bookmark', revision }));
  }

  /** Messages appended for this subscriber and not yet consumed. */
  backlog(): number {
    if (this.state !== 'live') return 0;
    return this.pending.length + this.source.history.nextSeq - Math.max(this.cursor, this.joinSeq);
  }

  /** A method, not a field read, so the compiler does not assume it unchanged by calls. */
  private isEnded(): boolean {
    return this.state === 'ended';
  }

  private start(): void {
    const { fromRevision, filter } = this.options;
    const history = this.source.history;
    if (fromRevision === undefined) {
      const snapshot = this.source.snapshot(filter);
      this.pending = [snapshot, Object.freeze({ kind: 'marker', revision: snapshot.revision })];
      this.cursor = history.nextSeq;
    } else {
      this.source.trim();
      if (fromRevision <= history.floor) {
        throw new TopoError(
          TopoErrorCode.Compacted,
          `revision ${fromRevision} is older than the watch history of ${JSON.stringify(this.prefix)} ` +
            `(it holds the revisions after ${history.floor}); re-list`,
        );
      }
      if (fromRevision > this.source.revision + 1n) {
        // A router moving from another cell-topo process can hold a revision this hub has
        // not reached (a bookmark from a progress notification it has not had yet). The
        // hub cannot tell what lies between, so the answer is the one a client can act on:
        // re-list.
        throw new TopoError(
          TopoErrorCode.Compacted,
          `revision ${fromRevision} is ahead of the latest revision ${this.source.revision} ` +
            `known for ${JSON.stringify(this.prefix)} here; re-list`,
        );
      }
      this.cursor = history.seqAtOrAfter(fromRevision);
      const first = this.cursor < history.nextSeq ? history.at(this.cursor) : undefined;
      // A resume point strictly inside a healed gap has a view the resync batch cannot fix.
      if (first?.resyncBase !== undefined && fromRevision - 1n > first.resyncBase) {
        throw new TopoError(
          TopoErrorCode.Compacted,
          `revision ${fromRevision} falls in a gap the hub healed by re-listing at ${first.revision}; re-list`,
        );
      }
    }
    this.joinSeq = history.nextSeq;
    this.lastSentAt = this.source.now();
    this.state = 'live';
  }

  /** The next message for this subscriber from what is already there, if any. */
  private take(): HubMessage | undefined {
    const pending = this.pending.shift();
    if (pending) return this.sent(pending);
    const history = this.source.history;
    if (this.cursor < history.firstSeq) {
      this.cut();
      return undefined;
    }
    while (this.cursor < history.nextSeq) {
      const entry = history.at(this.cursor);
      this.cursor += 1;
      this.consumed = entry.revision;
      const message = this.select(entry);
      if (message) return this.sent(message);
    }
    return undefined;
  }

  /** The batch as this subscriber sees it: shared when its filter keeps every event. */
  private select(entry: HistoryEntry): BatchMessage | undefined {
    const { filter } = this.options;
    const batch = entry.message;
    if (!filter) return batch;
    const events = batch.events.filter((event) => passes(filter, event));
    if (events.length === batch.events.length) return batch;
    if (events.length === 0) return undefined;
    return Object.freeze({ ...batch, events: Object.freeze(events) });
  }

  private sent(message: HubMessage): HubMessage {
    this.lastSentAt = this.source.now();
    if (message.revision > this.consumed) this.consumed = message.revision;
    return message;
  }

  private deliver(message: HubMessage): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ done: false, value: this.sent(message) });
  }

  private resumeWaiter(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) this.next().then(waiter.resolve, waiter.reject);
  }

  private park(): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private cut(): void {
    this.fail(
      new TopoError(TopoErrorCode.ResourceExhausted, `subscriber too slow; resume from revision ${this.consumed + 1n}`),
    );
  }

  private end(): void {
    if (this.state !== 'ended') this.source.detach(this);
    this.state = 'ended';
    this.pending = [];
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}

function passes(filter: HubFilter, event: HubEvent): boolean {
  if (event.type === 'put' && filter(event.path, event.contents)) return true;
  if (event.previous !== undefined) return filter(event.path, event.previous);
  return event.type === 'delete' && filter(event.path, undefined);
}

const CLOSED_SOURCE: SubscriptionSource = {
  ready: false,
  history: new History(0n),
  revision: 0n,
  queueLimit: 0,
  now: () => Date.now(),
  snapshot: () => {
    throw interrupted('watch hub is closed');
  },
  trim: () => undefined,
  detach: () => undefined,
};
