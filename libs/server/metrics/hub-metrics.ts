import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PrefixStats, WatchHubStats } from '../../watch';

/**
 * The watch hub's figures, read from `hub.stats()` at scrape time: nothing is counted on
 * the dispatch path. One table maps stats to metrics; a figure the hub starts reporting is
 * one more row here.
 */
interface PrefixMetric {
  name: string;
  help: string;
  kind: 'gauge' | 'counter';
  value: (prefix: PrefixStats) => number;
}

const STATES: PrefixStats['state'][] = ['opening', 'live', 'healing', 'closed'];

/** The watched directory; '/' for a watch of the whole root (cell-topo's one watch). */
export const prefixLabel = (p: PrefixStats): string => p.prefix || '/';

export const HUB_PREFIX_METRICS: PrefixMetric[] = [
  { name: 'topo_watch_subscribers', kind: 'gauge', help: 'Watch subscribers, by watched prefix.', value: (p) => p.subscribers },
  { name: 'topo_watch_cached_keys', kind: 'gauge', help: 'Keys held in memory for snapshots, by prefix.', value: (p) => p.cachedKeys },
  { name: 'topo_watch_history_batches', kind: 'gauge', help: 'Transactions kept for resumes, by prefix.', value: (p) => p.historyBatches },
  { name: 'topo_watch_history_events', kind: 'gauge', help: 'Events kept for resumes, by prefix.', value: (p) => p.historyEvents },
  {
    name: 'topo_watch_history_floor_revision',
    kind: 'gauge',
    help: 'Oldest revision a resume can start after, by prefix: older resume points get OUT_OF_RANGE and re-list.',
    value: (p) => Number(p.historyFloor),
  },
  { name: 'topo_watch_revision', kind: 'gauge', help: 'Latest etcd revision the hub has seen for the prefix.', value: (p) => Number(p.revision) },
  {
    name: 'topo_watch_max_backlog_messages',
    kind: 'gauge',
    help: 'Largest undelivered backlog of any subscriber of the prefix, in batches.',
    value: (p) => p.maxBacklog,
  },
  {
    name: 'topo_watch_batches_received_total',
    kind: 'counter',
    help: 'Backend transactions received for the prefix (resync batches included).',
    value: (p) => p.batchesReceived,
  },
  {
    name: 'topo_watch_events_received_total',
    kind: 'counter',
    help: 'Backend events received for the prefix.',
    value: (p) => p.eventsReceived,
  },
  {
    name: 'topo_watch_messages_sent_total',
    kind: 'counter',
    help: "Messages handed to subscribers' transports (snapshots, markers, batches, bookmarks, status).",
    value: (p) => p.messagesSent,
  },
  {
    name: 'topo_watch_messages_merged_total',
    kind: 'counter',
    help: 'Messages that carried more than one transaction to a subscriber that had fallen behind.',
    value: (p) => p.messagesMerged,
  },
  {
    name: 'topo_watch_subscribers_cut_total',
    kind: 'counter',
    help: 'Subscribers cut as too slow, with a resumable RESOURCE_EXHAUSTED.',
    value: (p) => p.subscribersCut,
  },
  {
    name: 'topo_watch_backend_unreachable_seconds',
    kind: 'gauge',
    help: 'How long the prefix has served its last view with the backend unreachable, seconds (0 when live).',
    value: (p) => (p.unreachableSince === undefined ? 0 : Math.max(0, (Date.now() - p.unreachableSince) / 1000)),
  },
  {
    name: 'topo_watch_backend_opens_total',
    kind: 'counter',
    help: 'Times the prefix was listed and watched in the backend (1 + re-lists).',
    value: (p) => p.backendOpens,
  },
  {
    name: 'topo_watch_relists_total',
    kind: 'counter',
    help: 'Times the prefix was listed again after its backend watch was lost or compacted away.',
    value: (p) => Math.max(0, p.backendOpens - 1),
  },
  {
    name: 'topo_watch_resyncs_total',
    kind: 'counter',
    help: 'Resync batches sent to subscribers after a lost backend watch was healed by a re-list.',
    value: (p) => p.resyncs,
  },
];

export function registerHubMetrics(registry: Registry, stats: () => WatchHubStats): void {
  // Counters of a prefix whose watch closed restart from zero when it reopens: rate() treats
  // that as a counter reset, as it does a process restart.
  const read = stats;
  new Gauge({
    name: 'topo_watch_backend_watches',
    help: 'Backend (etcd) watches open: one per watched prefix, whatever the subscriber count.',
    registers: [registry],
    collect() {
      this.set(read().backendWatches);
    },
  });
  new Gauge({
    name: 'topo_watch_prefix_state',
    help: 'State of each watched prefix: 1 for its current state (opening, live, healing, closed).',
    labelNames: ['prefix', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of read().prefixes) for (const state of STATES) this.set({ prefix: prefixLabel(p), state }, p.state === state ? 1 : 0);
    },
  });
  for (const metric of HUB_PREFIX_METRICS) {
    const options = { name: metric.name, help: metric.help, labelNames: ['prefix'], registers: [registry] };
    if (metric.kind === 'gauge') {
      new Gauge({
        ...options,
        collect() {
          this.reset();
          for (const p of read().prefixes) this.set({ prefix: prefixLabel(p) }, metric.value(p));
        },
      });
    } else {
      new Counter({
        ...options,
        collect() {
          this.reset();
          for (const p of read().prefixes) this.inc({ prefix: prefixLabel(p) }, metric.value(p));
        },
      });
    }
  }
}

/**
 * The one figure counted on the dispatch path, once per dispatch (an event-loop turn's
 * batches offered to every subscriber), not per stream: from a batch's arrival from the
 * backend to the end of the loop that wrote it to every stream. Alert on its p99 rising
 * with the subscriber count: the process is running out of CPU to fan out.
 */
export function dispatchHistogram(registry: Registry): Histogram {
  return new Histogram({
    name: 'topo_watch_dispatch_seconds',
    help: "Time from a batch's arrival from the backend to the end of the dispatch that offered it to every subscriber.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
}
