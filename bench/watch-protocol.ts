/**
 * Messages between watch-bench and its client worker processes (IPC with Node's
 * 'advanced' serialization, so latency samples travel as typed arrays). Every request
 * carries an id that its reply repeats.
 */

/**
 * How the subscribers watch: cell-topo's WatchTablets, or etcd3 watchers on the tablets
 * prefix (straight to etcd, or through `etcd grpc-proxy`: the same client, another target).
 */
export type SubscriberKind = 'cell-topo' | 'etcd3';

export type WorkerRequest =
  | { id: number; type: 'ping' }
  | {
      id: number;
      type: 'open';
      kind: SubscriberKind;
      /** cell-topo's host:port, or etcd (or grpc-proxy) client URLs. */
      target: string;
      /** etcd key prefix the etcd3 watchers watch. */
      etcdPrefix: string;
      streams: number;
      streamsPerChannel: number;
      /** etcd3: watchers sharing one Watch stream (one etcd3 client); 1 gives each its own, as each WatchTablets call has. */
      watchersPerStream: number;
      timeoutMs: number;
    }
  | { id: number; type: 'progress' }
  /**
   * Acknowledgement time of every write of one phase, by revision: the worker turns its
   * receipts of those revisions into latencies and per-stream completion times.
   */
  | { id: number; type: 'collect'; acks: Array<[revision: string, ackNs: number]> }
  | { id: number; type: 'close' };

export interface OpenReply {
  /** Streams that delivered their first message (the marker, or etcd's created response). */
  opened: number;
  /** Failures while opening, by message. */
  failures: Record<string, number>;
  openMs: number;
}

export interface ProgressReply {
  /** Receipts of change revisions so far, over all streams, since they opened. */
  receipts: number;
  /** Streams that failed after opening, since the previous collect. */
  broken: number;
}

export interface CollectReply {
  /** ms from the write's acknowledgement to each stream's receipt of it. */
  latenciesMs: Float64Array;
  /**
   * Per open stream: when (CLOCK_MONOTONIC ns) it had received every acknowledged
   * revision, i.e. its latest receipt of one of them; Infinity when it misses any.
   */
  completeNs: Float64Array;
  /** Acknowledged writes times open streams. */
  expected: number;
  /** Since the previous collect: changes received again on a stream, or out of order. */
  duplicates: number;
  /** Since the previous collect: streams that failed after opening. */
  broken: number;
  /** Since the previous collect: CHANGES messages that held more than one transaction. */
  mergedMessages: number;
  /** Since the previous collect: CHANGES messages flagged `continued`. */
  continuedMessages: number;
  /** Since the previous collect: CHANGES messages received, over all streams. */
  changeMessages: number;
  failures: Record<string, number>;
}

export type WorkerReply =
  /** Sent once, unasked (id 0), when the worker listens for requests. */
  | { id: number; type: 'ready' }
  | { id: number; type: 'pong'; nowNs: number }
  | { id: number; type: 'opened'; reply: OpenReply }
  | { id: number; type: 'progress'; reply: ProgressReply }
  | { id: number; type: 'collected'; reply: CollectReply }
  | { id: number; type: 'closed' }
  | { id: number; type: 'failed'; message: string };

/** One clock for every process: CLOCK_MONOTONIC, which Linux shares across processes. */
export function nowNs(): number {
  // ns since boot stays far below 2^53 for years of uptime, so a number keeps every digit.
  return Number(process.hrtime.bigint());
}
