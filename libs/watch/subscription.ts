import { TopoError, TopoErrorCode, interrupted } from '../store';
import { History, type HistoryEntry } from './history';
import type {
  BatchMessage,
  HubSink,
  SinkMessage,
  PushSubscription,
  SnapshotMessage,
  StatusMessage,
  SubscribeOptions,
} from './messages';
import type { Scope } from './scope';

/** What a subscription reads from: the shared state of one backend watch. */
export interface SubscriptionSource {
  /** True once the prefix has a snapshot (it stays true while the backend is being healed). */
  readonly ready: boolean;
  readonly history: History;
  /** The latest revision the hub knows for the prefix (from events and progress marks). */
  readonly revision: bigint;
  readonly queueLimit: number;
  now(): number;
  /** The cached files of `scope` at `revision`, filtered; shared by subscribers with one key. */
  snapshot(scope: Scope, options: SubscribeOptions): SnapshotMessage;
  /** The batch at `entry` as subscribers with this scope and filter see it (shared per key). */
  select(entry: HistoryEntry, scope: Scope, options: SubscribeOptions): BatchMessage | undefined;
  /** Set while the backend is unreachable: what a subscriber is told. */
  unreachableSince(): number | undefined;
  /**
   * Whether the backend has reached `revision` although this watch has not yet (a client
   * coming from another process): the watch will deliver what lies between.
   */
  confirmAhead(revision: bigint): Promise<boolean>;
  /** Applies the history's age limit, so a resume point is judged against the real floor. */
  trim(): void;
  detach(subscription: HubSubscription): void;
  /** For the hub's figures: a message sent with this many transactions (0 for others). */
  countSent(transactions: number): void;
  countCut(): void;
}

/**
 * One subscriber: a cursor into the prefix's shared history, not a copy of it, pushing to a
 * sink. The source calls `pump()` once per event-loop turn in which batches were appended;
 * the subscriber sends everything from its cursor at once (one message when it keeps up,
 * every transaction it missed, merged, after its transport was full). While the sink is
 * full nothing is sent; the backlog grows in the shared history only. Past `queueLimit`
 * undelivered batches, or once the history has dropped a batch it still needs, it is cut
 * with a resumable ResourceExhausted.
 */
export class HubSubscription implements PushSubscription {
  private state: 'waiting' | 'confirming' | 'live' | 'ended' = 'waiting';
  /** Seq of the next history batch to consider. */
  private cursor = 0;
  /** History's nextSeq when the subscription started: older batches are replay, not backlog. */
  private joinSeq = 0;
  /** Snapshot and marker, before any batch. */
  private pending: SinkMessage[] = [];
  /** The sink said it is full: send nothing until resume(). */
  private blocked = false;
  /** Batches below this revision were seen through another process: skipped. */
  private skipBelow = 0n;
  /** The reachability this subscriber was last told (live until told otherwise). */
  private toldLive = true;
  private consumed = 0n;
  private lastSentAt = 0;
  private readonly onAbort = (): void => this.close();

  constructor(
    readonly scope: Scope,
    private readonly source: SubscriptionSource,
    private readonly options: SubscribeOptions,
    private readonly sink: HubSink,
  ) {
    const from = options.fromRevision;
    if (from !== undefined && from > 0n) this.consumed = from - 1n;
  }

  /** A subscription that ends at once with `error`: a closed hub, a bad argument. */
  static failed(scope: Scope, sink: HubSink, error: unknown): HubSubscription {
    const subscription = new HubSubscription(scope, CLOSED_SOURCE, {}, sink);
    queueMicrotask(() => subscription.fail(error));
    return subscription;
  }

  get lastRevision(): bigint {
    return this.consumed;
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /** Called once the source has registered the subscription. */
  begin(): void {
    const { signal } = this.options;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.source.ready) this.start();
  }

  /** The prefix became ready. */
  onReady(): void {
    if (this.state === 'waiting') this.start();
  }

  resume(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.pump();
  }

  close(): void {
    if (this.state === 'ended') return;
    this.end();
    this.sink.end(undefined);
  }

  /** Ends the subscription with `error`. */
  fail(error: unknown): void {
    if (this.state === 'ended') return;
    this.end();
    this.sink.end(error);
  }

  /** Sends what there is to send, unless the sink is full; then checks the limits. */
  pump(): void {
    if (this.state !== 'live') return;
    try {
      while (!this.blocked && this.state === 'live') {
        if (!this.sendNext()) break;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.enforceLimits();
  }

  /** Cuts the subscription when its backlog is over the limit or history no longer holds it. */
  enforceLimits(): void {
    if (this.state !== 'live') return;
    if (this.cursor < this.source.history.firstSeq || this.backlog() > this.source.queueLimit) this.cut();
  }

  /** A caught-up subscriber that got nothing for `intervalMs` learns it is current up to `revision`. */
  bookmark(revision: bigint, now: number, intervalMs: number): void {
    if (this.state !== 'live' || this.blocked || this.pending.length > 0) return;
    if (this.cursor !== this.source.history.nextSeq || now - this.lastSentAt < intervalMs) return;
    if (revision > this.consumed) this.consumed = revision;
    this.send(Object.freeze({ kind: 'bookmark', revision: this.consumed }));
  }

  /** Reachability changed (or may have): tell the subscriber once it is caught up. */
  onStatus(): void {
    this.pump();
  }

  /** Batches appended for this subscriber and not yet sent, plus a pending snapshot or marker. */
  backlog(): number {
    if (this.state !== 'live') return 0;
    return this.pending.length + this.source.history.nextSeq - Math.max(this.cursor, this.joinSeq);
  }

  private start(): void {
    const { fromRevision } = this.options;
    const history = this.source.history;
    try {
      if (fromRevision === undefined) {
        const snapshot = this.source.snapshot(this.scope, this.options);
        this.pending = [snapshot, Object.freeze({ kind: 'marker', revision: snapshot.revision })];
        this.cursor = history.nextSeq;
      } else {
        this.source.trim();
        if (fromRevision <= history.floor) {
          throw new TopoError(
            TopoErrorCode.Compacted,
            `revision ${fromRevision} is older than the watch history of ${this.scope.label} ` +
              `(it holds the revisions after ${history.floor}); re-list`,
          );
        }
        if (fromRevision > this.source.revision + 1n) {
          this.confirmAhead(fromRevision);
          return;
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
    } catch (err) {
      this.fail(err);
      return;
    }
    this.goLive();
  }

  /**
   * A client coming from another process of the same cell can hold a revision this watch
   * has not reached yet. When the backend has reached it, the subscriber starts at the head
   * of the history and skips what the watch delivers below it: exactly the changes after
   * its resume point, once each.
   */
  private confirmAhead(fromRevision: bigint): void {
    this.state = 'confirming';
    this.source.confirmAhead(fromRevision - 1n).then(
      (reached) => {
        if (this.state !== 'confirming') return;
        if (!reached) {
          this.fail(
            new TopoError(
              TopoErrorCode.Compacted,
              `revision ${fromRevision} is ahead of the backend's revision for ${this.scope.label}; re-list`,
            ),
          );
          return;
        }
        const history = this.source.history;
        this.cursor = fromRevision <= this.source.revision ? history.seqAtOrAfter(fromRevision) : history.nextSeq;
        this.skipBelow = fromRevision;
        this.goLive();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private goLive(): void {
    this.joinSeq = this.source.history.nextSeq;
    this.lastSentAt = this.source.now();
    this.state = 'live';
    this.pump();
  }

  /** Sends the next message, if any; false when there was nothing to send. */
  private sendNext(): boolean {
    const pending = this.pending.shift();
    if (pending) {
      this.send(pending);
      return true;
    }
    const history = this.source.history;
    if (this.cursor < history.firstSeq) return false; // enforceLimits cuts it
    const batches: BatchMessage[] = [];
    while (this.cursor < history.nextSeq) {
      const entry = history.at(this.cursor);
      const batch = entry.revision < this.skipBelow ? undefined : this.source.select(entry, this.scope, this.options);
      if (batch?.resync && batches.length > 0) break; // a resync batch travels alone
      this.cursor += 1;
      if (entry.revision > this.consumed) this.consumed = entry.revision;
      if (!batch) continue;
      batches.push(batch);
      if (batch.resync) break;
    }
    if (batches.length > 0) {
      const revision = batches[batches.length - 1].revision;
      this.send(Object.freeze({ kind: 'batches', revision, batches: Object.freeze(batches) }));
      return true;
    }
    return this.sendStatusChange();
  }

  /** A caught-up subscriber is told when reachability differs from what it was last told. */
  private sendStatusChange(): boolean {
    const since = this.source.unreachableSince();
    const live = since === undefined;
    if (live === this.toldLive) return false;
    this.toldLive = live;
    const status: StatusMessage = live
      ? { kind: 'status', revision: this.consumed, live }
      : { kind: 'status', revision: this.consumed, live, unreachableSince: since };
    this.send(Object.freeze(status));
    return true;
  }

  private send(message: SinkMessage): void {
    this.source.countSent(message.kind === 'batches' ? message.batches.length : 0);
    this.lastSentAt = this.source.now();
    if (message.revision > this.consumed) this.consumed = message.revision;
    if (!this.sink.send(message)) this.blocked = true;
  }

  private cut(): void {
    this.source.countCut();
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

const CLOSED_SOURCE: SubscriptionSource = {
  ready: false,
  history: new History(0n),
  revision: 0n,
  queueLimit: 0,
  now: () => Date.now(),
  snapshot: () => {
    throw interrupted('watch hub is closed');
  },
  select: () => undefined,
  unreachableSince: () => undefined,
  confirmAhead: () => Promise.resolve(false),
  trim: () => undefined,
  detach: () => undefined,
  countSent: () => undefined,
  countCut: () => undefined,
};
