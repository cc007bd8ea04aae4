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
 * The events of exactly one backend transaction (never split, never merged). A `resync`
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

export type HubMessage = SnapshotMessage | MarkerMessage | BatchMessage | BookmarkMessage;

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
