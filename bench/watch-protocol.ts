/**
 * Messages between watch-bench and its client worker processes (IPC with Node's
 * 'advanced' serialization, so latency samples travel as typed arrays). Every request
 * carries an id that its reply repeats.
 */

/** Who the subscribers talk to: cell-topo's WatchTablets, or etcd directly (the baseline). */
export type SubscriberKind = 'cell-topo' | 'etcd';

export type WorkerRequest =
  | { id: number; type: 'ping' }
  | {
      id: number;
      type: 'open';
      kind: SubscriberKind;
      /** cell-topo's host:port, or etcd client URLs. */
      target: string;
      /** etcd key prefix the baseline watches. */
      etcdPrefix: string;
      streams: number;
      streamsPerChannel: number;
      timeoutMs: number;
    }
  | { id: number; type: 'progress' }
  /** Acknowledgement time of every write, by revision: the worker turns its receipts into latencies. */
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
  /** Receipts of change events so far, over all streams. */
  receipts: number;
  /** Streams that failed after opening. */
  broken: number;
}

export interface CollectReply {
  /** ms from the write's acknowledgement to each stream's receipt of it. */
  latenciesMs: Float64Array;
  /** Acknowledged writes times open streams. */
  expected: number;
  duplicates: number;
  broken: number;
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
