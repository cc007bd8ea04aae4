import type { KVInfo } from '../store';

/**
 * What subscribers receive. Every object here is shared by all the subscribers that get it
 * and frozen: never copied per subscriber, never changed, so a transport can encode it once
 * (see `encodeOnce`).
 */

export interface HubPut {
  readonly type: 'put';
  readonly path: string;
  readonly contents: Uint8Array;
  /** The mod revision of the new value (the file's version). */
  readonly version: bigint;
  /** The contents before this change, when the file existed. */
  readonly previous?: Uint8Array;
}

export interface HubDelete {
  readonly type: 'delete';
  readonly path: string;
  /** The revision of the delete. */
  readonly version: bigint;
  /** The contents that were deleted, when the hub knew them. */
  readonly previous?: Uint8Array;
}

export type HubEvent = HubPut | HubDelete;

/** The prefix's files at `revision`, served from the hub's memory. */
export interface SnapshotMessage {
  readonly kind: 'snapshot';
  readonly revision: bigint;
  readonly entries: readonly KVInfo[];
}

/** The snapshot is complete; deltas follow. */
export interface MarkerMessage {
  readonly kind: 'marker';
  readonly revision: bigint;
}

/**
 * The events of exactly one backend transaction (never split). A `resync`
 * batch is synthetic: after the backend watch was lost, it holds the puts and deletes that
 * bring a subscriber from its last view to the backend's state at `revision`.
 */
export interface BatchMessage {
  readonly kind: 'batch';
  readonly revision: bigint;
  readonly events: readonly HubEvent[];
  readonly resync?: boolean;
}

/** Nothing for this subscriber up to `revision`: resume from `revision + 1`. */
export interface BookmarkMessage {
  readonly kind: 'bookmark';
  readonly revision: bigint;
}

/**
 * Whether the hub can reach its backend. Sent to every subscriber when reachability
 * changes, and to a new subscriber after its marker (or at the start of a resume) while the
 * backend is unreachable: the view it has is current to `revision`, and may be stale since
 * `unreachableSince` (the hub's clock, ms).
 */
export interface StatusMessage {
  readonly kind: 'status';
  readonly revision: bigint;
  readonly live: boolean;
  readonly unreachableSince?: number;
}

export type HubMessage = SnapshotMessage | MarkerMessage | BatchMessage | BookmarkMessage | StatusMessage;

/**
 * Whole transactions, in revision order, that a push subscriber receives at once: one
 * when it keeps up, every one it missed when its transport was full. A resync batch always
 * travels alone. `revision` is the last batch's.
 */
export interface BatchesMessage {
  readonly kind: 'batches';
  readonly revision: bigint;
  readonly batches: readonly BatchMessage[];
}

/** What a push subscriber's sink receives. */
export type SinkMessage = SnapshotMessage | MarkerMessage | BatchesMessage | BookmarkMessage | StatusMessage;

/**
 * A push subscriber's transport. The hub calls `send` synchronously, at most once per
 * event-loop turn per new batch group, and never again after it returned false until the
 * transport calls `subscription.resume()` (gRPC's 'drain'). `end` is called once, with the
 * error that ended the subscription (undefined when it was closed).
 */
export interface HubSink {
  send(message: SinkMessage): boolean;
  end(error: unknown): void;
}

/**
 * Server-side filter. A snapshot entry passes when its contents pass. An event passes when
 * the value before or after it passes (a delete is judged on the deleted value), so a file
 * that moves out of the filter is seen leaving.
 */
export type HubFilter = (path: string, contents: Uint8Array | undefined) => boolean;

export interface SubscribeOptions {
  /**
   * Resume: the first revision the subscriber has NOT seen (its last message's revision
   * + 1). Replays the missed batches from the hub's history, then continues live.
   */
  fromRevision?: bigint;
  filter?: HubFilter;
  /**
   * Names the filter: subscribers with equal keys share the filtered batch objects (and so
   * whatever a transport memoizes per object). Two filters with one key must be equal.
   */
  filterKey?: string;
  /** Aborting ends the iteration like `close()`. */
  signal?: AbortSignal;
}

/**
 * One subscriber's stream. Iterate it once. Every failure surfaces from the iteration as a
 * TopoError: Compacted (resume point older than the history: re-list), InvalidArgument,
 * ResourceExhausted (too slow: resume from the revision in the message), Interrupted (the
 * hub closed). `close()` and the signal end the iteration cleanly (it returns).
 */
export interface Subscription extends AsyncIterable<HubMessage> {
  readonly prefix: string;
  /**
   * The revision through which this subscriber has consumed everything: the revision of
   * the last message it took, or of a later batch its filter skipped. 0n before the first.
   */
  readonly lastRevision: bigint;
  /** Aborted when the subscription ends for any reason; `reason` is the error, if any. */
  readonly ended: AbortSignal;
  close(): void;
}

/** A push subscription: the hub writes to its sink; the transport says when it can take more. */
export interface PushSubscription {
  readonly lastRevision: bigint;
  /** The transport drained: send what accumulated, merged into one message. */
  resume(): void;
  close(): void;
}
