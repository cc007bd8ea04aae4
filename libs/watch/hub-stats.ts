/** What one watched prefix holds, for tests, benchmarks and metrics. */
export interface PrefixStats {
  prefix: string;
  /**
   * opening: no snapshot yet; live: following the backend; healing: re-listing after a lost
   * watch (subscribers keep the last view); closed: ended by hub.close() or a fatal error.
   */
  state: 'opening' | 'live' | 'healing' | 'closed';
  subscribers: number;
  cachedKeys: number;
  /** The latest revision known for the prefix (events and progress marks). */
  revision: bigint;
  /** The history holds every batch with revision > historyFloor. */
  historyFloor: bigint;
  historyBatches: number;
  historyEvents: number;
  /** Times the backend was listed and watched (1 + re-lists). */
  backendOpens: number;
  /** Synthetic resync batches emitted after a lost backend watch. */
  resyncs: number;
  /** The largest undelivered backlog of any subscriber. */
  maxBacklog: number;
  /** Backend transactions received (resync batches included), and their events. */
  batchesReceived: number;
  eventsReceived: number;
  /** Messages handed to subscribers' transports (snapshots, markers, batches, bookmarks, status). */
  messagesSent: number;
  /** Of those, messages that carried more than one transaction (the subscriber was behind). */
  messagesMerged: number;
  /** Subscribers cut as too slow (resumable ResourceExhausted). */
  subscribersCut: number;
  /** Set while the backend is unreachable: since when (the hub's clock, ms). */
  unreachableSince?: number;
}

export interface WatchHubStats {
  /** One per watched prefix, however many subscribers it has. */
  backendWatches: number;
  subscribers: number;
  cachedKeys: number;
  historyBatches: number;
  historyEvents: number;
  maxBacklog: number;
  eventsReceived: number;
  messagesSent: number;
  messagesMerged: number;
  subscribersCut: number;
  prefixes: PrefixStats[];
}
