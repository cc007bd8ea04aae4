/**
 * Watch fan-out and registration against etcd's own answers, same machine, same run. Three
 * peers serve N subscribers from separate client processes: etcd3 watchers straight on etcd,
 * etcd3 watchers through `etcd grpc-proxy` (etcd's watch-coalescing proxy), and cell-topo's
 * WatchTablets streams. Two workloads: steady (tablet changes at a fixed rate) and a burst
 * (100 tablets changed at once: how long until every stream has all of them). Every
 * (peer, N) runs `--repeat` times, the peers in turn. Then RegisterTablet against the raw etcd
 * transaction of the same shape. Prints the tables and how they were measured.
 *
 *   npx ts-node --transpile-only bench/watch-bench.ts [--streams 100,1000,10000] [--burst 1000,5000]
 *     [--burst-size 100] [--burst-bound 20] [--repeat 2] [--rate 20] [--duration 10] [--workers 4]
 *     [--streams-per-channel 500] [--etcd-watchers-per-stream 1] [--registrations 1000] [--registration-concurrency 16] [--budget 1800]
 */
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { unaryCall } from '../libs/client';
import { Tablet, TabletType } from '../libs/proto';
import { CellTopoServiceClient } from '../libs/proto/gen/topo/cell/v1/cell';
import { tabletPath } from '../libs/topo';
import { BenchStack, evenShards, whenAvailable } from './bench-stack';
import { GrpcProxy } from './grpc-proxy';
import { CpuMeter, etcdWatchGauges, fdLimit, openFds, OtherCpuMeter, rssKiB, type EtcdWatchGauges } from './proc-stats';
import { measureRegistration, type RegistrationResult } from './registration';
import { printTable, summarize, type Summary } from './stats';
import { nowNs, type CollectReply, type SubscriberKind } from './watch-protocol';
import { WatchWorkers, type ClockCheck } from './watch-workers';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '100,1000,10000' },
    burst: { type: 'string', default: '1000,5000' },
    'burst-size': { type: 'string', default: '100' },
    'burst-bound': { type: 'string', default: '20' },
    repeat: { type: 'string', default: '2' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    'streams-per-channel': { type: 'string', default: '500' },
    'etcd-watchers-per-stream': { type: 'string', default: '1' },
    tablets: { type: 'string', default: '5' },
    'idle-settle': { type: 'string', default: '3' },
    registrations: { type: 'string', default: '1000' },
    'registration-concurrency': { type: 'string', default: '16' },
    budget: { type: 'string', default: '1800' },
  },
});

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  return value;
}

const counts = (name: string, text: string): number[] =>
  text.trim() === '' ? [] : text.split(',').map((n) => wholeNumber(name, n.trim().replace(/_/g, '')));

const STEADY_COUNTS = counts('streams', values.streams!);
const BURST_COUNTS = counts('burst', values.burst!);
const BURST_SIZE = wholeNumber('burst-size', values['burst-size']!);
/** A stream that has not got the whole burst this many seconds after it started counts as incomplete. */
const BURST_BOUND_S = wholeNumber('burst-bound', values['burst-bound']!);
const REPEAT = wholeNumber('repeat', values.repeat!);
const RATE = wholeNumber('rate', values.rate!);
const DURATION_S = Number(values.duration);
const WORKERS = wholeNumber('workers', values.workers!);
const PER_CHANNEL = wholeNumber('streams-per-channel', values['streams-per-channel']!);
/** etcd3 watchers sharing one Watch stream; 1: each its own stream, like each WatchTablets call. */
const WATCHERS_PER_STREAM = wholeNumber('etcd-watchers-per-stream', values['etcd-watchers-per-stream']!);
const TABLETS = wholeNumber('tablets', values.tablets!);
/** Seconds the streams sit idle after opening before the serving process's RSS is read. */
const IDLE_SETTLE_S = wholeNumber('idle-settle', values['idle-settle']!);
const REGISTRATIONS = wholeNumber('registrations', values.registrations!);
const REGISTRATION_CONCURRENCY = wholeNumber('registration-concurrency', values['registration-concurrency']!);
/** Seconds the whole run may take: a subscriber count that would not fit is skipped, and said so. */
const BUDGET_S = wholeNumber('budget', values.budget!);

const CELL = 'zone1';
const KEYSPACE = 'bench';
/** How long the changes of the last steady write may take to reach every stream before the phase is cut. */
const DRAIN_TIMEOUT_MS = 10_000;
const RSS_SAMPLE_MS = 250;
/** How long the next session waits for etcd to drop the closed subscribers' watch streams. */
const RELEASE_TIMEOUT_MS = 30_000;
const PEER_OWN_STREAMS = 4;
/** Between the steady phase and the burst on the same streams. */
const PAUSE_MS = 1000;

/** The three ways of serving N watchers of the cell's tablets. */
type Peer = 'etcd' | 'grpc-proxy' | 'cell-topo';
const PEERS: Peer[] = ['etcd', 'grpc-proxy', 'cell-topo'];
const PEER_LABEL: Record<Peer, string> = {
  etcd: 'raw etcd3 watchers',
  'grpc-proxy': 'etcd3 via etcd grpc-proxy',
  'cell-topo': 'cell-topo WatchTablets',
};
const SERVER_LABEL: Record<Peer, string> = { etcd: 'etcd', 'grpc-proxy': 'grpc-proxy', 'cell-topo': 'cell-topo' };

type PhaseKind = 'steady' | 'burst';

interface PhaseResult {
  kind: PhaseKind;
  /** Acknowledged writes: each owed to every open stream. */
  writes: number;
  /** Writes etcd refused, by message. */
  failedWrites: Record<string, number>;
  /** Over every receipt owed: one never made within the phase's window counts as infinitely late. */
  latency: Summary;
  /** Over the receipts made. */
  deliveredLatency: Summary;
  expected: number;
  delivered: number;
  /** Per open stream, ms from the phase's first write until it had every change (Infinity: never, within the window). */
  completeMs: Summary;
  /** Share of the open streams complete within the burst bound. */
  completeShare: number;
  duplicates: number;
  broken: number;
  mergedMessages: number;
  continuedMessages: number;
  changeMessages: number;
  failures: Record<string, number>;
  /** % of one core from the first write until every receipt arrived (or the window closed). */
  servingCpu: number;
  etcdCpu: number;
  clientCpu: number;
  /** Machine CPU outside the benchmark's processes meanwhile. */
  otherCpu: number;
  /** CPU of the serving process over the phase, per change delivered to a stream. */
  servingUsPerChange: number;
  /** From the first write until the receipts were all in (or the window closed). */
  phaseMs: number;
}

interface SessionResult {
  peer: Peer;
  streams: number;
  repetition: number;
  opened: number;
  openMs: number;
  /** VmRSS growth per open idle stream, KiB: the serving process, and etcd. */
  servingKiBPerStream: number;
  etcdKiBPerStream: number;
  /** VmRSS before opening and settled after, MiB. */
  rssMiB: { serving: [number, number]; etcd?: [number, number] };
  gauges: EtcdWatchGauges;
  proxyWatchers?: number;
  fds: string;
  failures: Record<string, number>;
  steady?: PhaseResult;
  burst?: PhaseResult;
}

/** A peer up and ready for subscribers. */
interface Serving {
  pid: number;
  kind: SubscriberKind;
  target: string;
  proxy?: GrpcProxy;
  stop(): Promise<void>;
}

const CELL_TOPO_START_S = 8;
const REGISTRATION_RESERVE_S = 40;

/**
 * Rough cost of one session before any was measured: starting its peer, settling, opening,
 * settling, its phases, closing. Later repetitions go by what the first one took.
 */
function estimateSeconds(peer: Peer, streams: number): number {
  const start = peer === 'cell-topo' ? CELL_TOPO_START_S : peer === 'grpc-proxy' ? 1 : 0;
  const open = 1 + (2 * streams) / 1000 + 2 * IDLE_SETTLE_S + 1;
  const steady = STEADY_COUNTS.includes(streams) ? DURATION_S + 3 + streams / 2000 : 0;
  const burst = BURST_COUNTS.includes(streams) ? PAUSE_MS / 1000 + 3 + streams / 1000 : 0;
  return start + open + steady + burst + 1 + streams / 5000;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function watchedTablet(index: number, hostname: string): Tablet {
  return Tablet.fromPartial({
    alias: { cell: CELL, uid: index + 1 },
    hostname,
    portMap: { grpc: 16000, vt: 15000 },
    keyspace: KEYSPACE,
    shard: evenShards(REGISTRATION_CONCURRENCY)[0],
    type: TabletType.REPLICA,
  });
}

/** The watched tablets (the steady ones and the burst's), created through cell-topo as a tablet's host would. */
async function createWatchedTablets(address: string, count: number): Promise<void> {
  const client = new CellTopoServiceClient(address, credentials.createInsecure());
  try {
    for (let i = 0; i < count; i++) {
      await whenAvailable(() => unaryCall(client.createTablet.bind(client), { tablet: watchedTablet(i, `tablet-${i + 1}.bench`) }));
    }
  } finally {
    client.close();
  }
}

type Acks = Array<[string, number]>;

/** The acknowledged writes of a phase, and those etcd refused (by message): a refused write is owed to no stream. */
interface Writes {
  acks: Acks;
  failed: Record<string, number>;
}

function putTablet(writer: Etcd3, root: string, index: number, hostname: string, writes: Writes): Promise<void> {
  const tablet = watchedTablet(index, hostname);
  return writer
    .put(`${root}/${tabletPath(tablet.alias!)}`)
    .value(Buffer.from(Tablet.encode(tablet).finish()))
    .exec()
    .then(
      (response) => void writes.acks.push([response.header.revision, nowNs()]),
      (err: unknown) => {
        // etcd on a loaded machine may time a request out; the run goes on and says so.
        const message = err instanceof Error ? err.message : String(err);
        writes.failed[message] = (writes.failed[message] ?? 0) + 1;
      },
    );
}

/**
 * `RATE` writes a second for `DURATION_S`, open loop (on schedule, never waiting for the
 * previous ack), each a put of one watched tablet's record with a new hostname, straight to
 * etcd so that every peer sees the very same etcd events. Resolves to each write's revision
 * and the time its acknowledgement arrived.
 */
async function writeSteady(writer: Etcd3, root: string, tag: string): Promise<Writes> {
  const count = Math.max(1, Math.round(RATE * DURATION_S));
  const intervalMs = 1000 / RATE;
  const writes: Writes = { acks: [], failed: {} };
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  for (let k = 0; k < count; k++) {
    const wait = start + k * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const index = k % TABLETS;
    inFlight.push(putTablet(writer, root, index, `tablet-${index + 1}-${tag}-${k}.bench`, writes));
  }
  await Promise.all(inFlight);
  return writes;
}

/** `BURST_SIZE` puts of distinct tablets, issued together straight to etcd. */
async function writeBurst(writer: Etcd3, root: string, tag: string): Promise<Writes> {
  const writes: Writes = { acks: [], failed: {} };
  await Promise.all(Array.from({ length: BURST_SIZE }, (_, i) => putTablet(writer, root, i, `tablet-${i + 1}-${tag}.bench`, writes)));
  return writes;
}

/** N spread over the workers as evenly as can be. */
function shares(total: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0));
}

/**
 * The lowest VmRSS of each process over `ms`: a Node heap's RSS rises and falls with its
 * collections, and the low point is the closest a reading from outside gets to "after GC".
 */
async function settledRssKiB(pids: number[], ms: number): Promise<number[]> {
  const low = pids.map((pid) => rssKiB(pid));
  for (let waited = 0; waited < ms; waited += RSS_SAMPLE_MS) {
    await sleep(RSS_SAMPLE_MS);
    pids.forEach((pid, i) => (low[i] = Math.min(low[i], rssKiB(pid))));
  }
  return low;
}

function mergeFailures(into: Record<string, number>, from: Record<string, number>): void {
  for (const [message, n] of Object.entries(from)) into[message] = (into[message] ?? 0) + n;
}

class Bench {
  private proxies = 0;

  constructor(
    private readonly stack: BenchStack,
    private readonly workers: WatchWorkers,
    private readonly writer: Etcd3,
  ) {}

  private async startPeer(peer: Peer): Promise<Serving> {
    const etcd = this.stack.cellEtcd.endpoints;
    switch (peer) {
      case 'etcd':
        return { pid: this.stack.cellEtcdPid, kind: 'etcd3', target: etcd.join(','), stop: async () => undefined };
      case 'grpc-proxy': {
        const proxy = await GrpcProxy.start(etcd, this.stack.logDir, `grpc-proxy-${++this.proxies}`);
        return { pid: proxy.pid, kind: 'etcd3', target: `http://${proxy.endpoint}`, proxy, stop: () => proxy.stop() };
      }
      case 'cell-topo': {
        const { address, pid } = await this.stack.startCellTopo();
        return { pid, kind: 'cell-topo', target: address, stop: () => this.stack.stopCellTopo() };
      }
    }
  }

  /**
   * etcd ends a closed client's watch streams a while after the client went: the next
   * session starts once they are gone (or after a bound), so it does not pay for them.
   */
  private async untilEtcdReleased(): Promise<void> {
    const deadline = Date.now() + RELEASE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { watchStreams } = await etcdWatchGauges(this.stack.cellEtcd.endpoints[0]);
      // What the peer itself holds until it stops (cell-topo's or grpc-proxy's own watches) may stay.
      if (watchStreams <= PEER_OWN_STREAMS) return;
      await sleep(250);
    }
    console.error(`[watch-bench] etcd still holds watch streams ${RELEASE_TIMEOUT_MS / 1000} s after the subscribers closed`);
  }

  private async receipts(): Promise<number> {
    const progress = await this.workers.all(() => ({ type: 'progress' }), 'progress', 30_000);
    return progress.reduce((sum, p) => sum + p.reply.receipts, 0);
  }

  /** Opens N subscribers of `peer`, reads them idle, runs the phases wanted at this N, closes them. */
  async session(peer: Peer, streams: number, repetition: number): Promise<SessionResult> {
    const serving = await this.startPeer(peer);
    try {
      const etcdPid = this.stack.cellEtcdPid;
      const pids = peer === 'etcd' ? [etcdPid] : [serving.pid, etcdPid];
      const before = await settledRssKiB(pids, IDLE_SETTLE_S * 1000);
      const openTimeoutMs = Math.max(20_000, streams * 5);
      const split = shares(streams, this.workers.size);
      const opened = await this.workers.all(
        (i) => ({
          type: 'open',
          kind: serving.kind,
          target: serving.target,
          etcdPrefix: `${this.stack.cellRoot}/tablets/`,
          streams: split[i],
          streamsPerChannel: PER_CHANNEL,
          watchersPerStream: WATCHERS_PER_STREAM,
          timeoutMs: openTimeoutMs,
        }),
        'opened',
        openTimeoutMs + 60_000,
      );
      const openCount = opened.reduce((sum, o) => sum + o.reply.opened, 0);
      const after = await settledRssKiB(pids, IDLE_SETTLE_S * 1000);
      const perStream = (i: number): number => (openCount > 0 ? (after[i] - before[i]) / openCount : NaN);
      const gauges = await etcdWatchGauges(this.stack.cellEtcd.endpoints[0]);
      const proxyWatchers = serving.proxy && (await serving.proxy.watchers()).watchers;
      const failures: Record<string, number> = {};
      for (const o of opened) mergeFailures(failures, o.reply.failures);
      const mib = (kib: number): number => kib / 1024;
      const result: SessionResult = {
        peer,
        streams,
        repetition,
        opened: openCount,
        openMs: Math.max(...opened.map((o) => o.reply.openMs)),
        servingKiBPerStream: perStream(0),
        etcdKiBPerStream: perStream(pids.length - 1),
        rssMiB: {
          serving: [mib(before[0]), mib(after[0])],
          etcd: peer === 'etcd' ? undefined : [mib(before[1]), mib(after[1])],
        },
        gauges,
        proxyWatchers,
        fds: `${openFds(serving.pid)} of ${fdLimit(serving.pid)}`,
        failures,
      };
      const tag = `${peer}-${streams}-${repetition}`;
      if (STEADY_COUNTS.includes(streams)) result.steady = await this.phase('steady', serving, openCount, tag);
      if (BURST_COUNTS.includes(streams)) {
        if (result.steady) await sleep(PAUSE_MS);
        result.burst = await this.phase('burst', serving, openCount, tag);
      }
      await this.workers.all(() => ({ type: 'close' }), 'closed', 60_000);
      await this.untilEtcdReleased();
      return result;
    } finally {
      await serving.stop();
    }
  }

  private async phase(kind: PhaseKind, serving: Serving, openCount: number, tag: string): Promise<PhaseResult> {
    const etcdPid = this.stack.cellEtcdPid;
    const received = await this.receipts();
    const cpu = {
      serving: new CpuMeter([serving.pid]),
      etcd: new CpuMeter([etcdPid]),
      clients: new CpuMeter(this.workers.pids),
      others: new OtherCpuMeter([process.pid, ...this.stack.pids, serving.pid, ...this.workers.pids]),
    };
    const startNs = nowNs();
    const { acks, failed } = kind === 'steady' ? await writeSteady(this.writer, this.stack.cellRoot, tag) : await writeBurst(this.writer, this.stack.cellRoot, tag);
    if (acks.length === 0) throw new Error(`every ${kind} write failed: ${JSON.stringify(failed)}`);
    // Every open stream owes a receipt of every write; wait for them, within a bound.
    const owed = acks.length * openCount;
    const deadlineNs = kind === 'steady' ? nowNs() + DRAIN_TIMEOUT_MS * 1e6 : startNs + BURST_BOUND_S * 1e9;
    while ((await this.receipts()) - received < owed && nowNs() < deadlineNs) await sleep(50);
    const phaseMs = (nowNs() - startNs) / 1e6;
    const servingCpu = cpu.serving.percentOfOneCore();
    const servingSeconds = cpu.serving.seconds();
    const etcdCpu = cpu.etcd.percentOfOneCore();
    const clientCpu = cpu.clients.percentOfOneCore();
    const otherCpu = cpu.others.percentOfOneCore();
    const collected = await this.workers.all(() => ({ type: 'collect', acks }), 'collected', 120_000);
    return summarizePhase(kind, acks.length, failed, startNs, collected.map((c) => c.reply), {
      servingCpu,
      servingSeconds,
      etcdCpu,
      clientCpu,
      otherCpu,
      phaseMs,
    });
  }
}

function summarizePhase(
  kind: PhaseKind,
  writes: number,
  failedWrites: Record<string, number>,
  startNs: number,
  replies: CollectReply[],
  measured: { servingCpu: number; servingSeconds: number; etcdCpu: number; clientCpu: number; otherCpu: number; phaseMs: number },
): PhaseResult {
  const delivered = replies.reduce((sum, c) => sum + c.latenciesMs.length, 0);
  const expected = replies.reduce((sum, c) => sum + c.expected, 0);
  const latencies = new Float64Array(Math.max(delivered, expected)).fill(Infinity);
  let offset = 0;
  for (const c of replies) {
    latencies.set(c.latenciesMs, offset);
    offset += c.latenciesMs.length;
  }
  const completeMs = Float64Array.from(
    replies.flatMap((c) => Array.from(c.completeNs)),
    (ns) => (Number.isFinite(ns) ? (ns - startNs) / 1e6 : Infinity),
  );
  const within = completeMs.reduce((n, ms) => n + (ms <= BURST_BOUND_S * 1000 ? 1 : 0), 0);
  const failures: Record<string, number> = {};
  for (const c of replies) mergeFailures(failures, c.failures);
  const sum = (pick: (c: CollectReply) => number): number => replies.reduce((total, c) => total + pick(c), 0);
  return {
    kind,
    writes,
    failedWrites,
    latency: summarize(latencies),
    deliveredLatency: summarize(latencies.subarray(0, delivered)),
    expected,
    delivered,
    completeMs: summarize(completeMs),
    completeShare: completeMs.length > 0 ? within / completeMs.length : NaN,
    duplicates: sum((c) => c.duplicates),
    broken: sum((c) => c.broken),
    mergedMessages: sum((c) => c.mergedMessages),
    continuedMessages: sum((c) => c.continuedMessages),
    changeMessages: sum((c) => c.changeMessages),
    failures,
    servingCpu: measured.servingCpu,
    etcdCpu: measured.etcdCpu,
    clientCpu: measured.clientCpu,
    otherCpu: measured.otherCpu,
    servingUsPerChange: delivered > 0 ? (measured.servingSeconds * 1e6) / delivered : NaN,
    phaseMs: measured.phaseMs,
  };
}

function fixed(value: number | undefined, digits: number): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value === Infinity ? 'never' : value.toFixed(digits);
}

/** One figure per repetition, "a / b": the spread is the distance between them. */
function each(values: Array<number | undefined>, digits: number): string {
  return values.map((v) => fixed(v, digits)).join(' / ');
}

/** ours / theirs; 0 when only theirs never completed (ours did), unknown when neither did. */
const ratio = (ours: number, theirs: number): number => {
  if (Number.isFinite(ours) && theirs === Infinity) return 0;
  return Number.isFinite(ours) && Number.isFinite(theirs) && theirs > 0 ? ours / theirs : NaN;
};

/** The sessions of one (N, repetition): one per peer. */
type Round = Partial<Record<Peer, SessionResult>>;

/** Sessions by N, then repetition. */
type Results = Map<number, Round[]>;

/** The better (lower) of raw etcd and grpc-proxy on `metric` in one repetition. */
function betterPeer(round: Round, metric: (s: SessionResult) => number | undefined): number {
  const candidates = [round.etcd, round['grpc-proxy']].map((s) => (s ? metric(s) : undefined)).filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return candidates.length > 0 ? Math.min(...candidates) : NaN;
}

function steadyRows(results: Results): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const [streams, rounds] of results) {
    if (!STEADY_COUNTS.includes(streams)) continue;
    for (const peer of PEERS) {
      const sessions = rounds.map((r) => r[peer]).filter((s): s is SessionResult => s?.steady !== undefined);
      if (sessions.length === 0) continue;
      const phase = (s: SessionResult): PhaseResult => s.steady!;
      const p99 = (s: SessionResult): number | undefined => s.steady?.latency.p99;
      rows.push({
        streams: streams.toLocaleString('en-US'),
        peer: PEER_LABEL[peer],
        delivered: sessions.map((s) => `${fixed((100 * phase(s).delivered) / phase(s).expected, 1)}%`).join(' / '),
        'p50 ms': each(sessions.map((s) => phase(s).latency.p50), 1),
        'p99 ms': each(sessions.map((s) => phase(s).latency.p99), 1),
        'max ms': each(sessions.map((s) => phase(s).latency.max), 0),
        'p99 / better peer': each(
          rounds.filter((r) => r[peer]?.steady).map((r) => ratio(p99(r[peer]!)!, betterPeer(r, p99))),
          2,
        ),
        'server CPU %': each(sessions.map((s) => phase(s).servingCpu), 0),
        'server µs/change': each(sessions.map((s) => phase(s).servingUsPerChange), 2),
        'etcd CPU %': each(sessions.map((s) => phase(s).etcdCpu), 0),
        'clients CPU %': each(sessions.map((s) => phase(s).clientCpu), 0),
        'idle KiB/stream': each(sessions.map((s) => s.servingKiBPerStream), 1),
        'etcd watchers': sessions.map((s) => s.gauges.watchers.toLocaleString('en-US')).join(' / '),
      });
    }
  }
  return rows;
}

function burstRows(results: Results): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  const allComplete = (s: SessionResult): number | undefined => s.burst?.completeMs.max;
  for (const [streams, rounds] of results) {
    if (!BURST_COUNTS.includes(streams)) continue;
    for (const peer of PEERS) {
      const sessions = rounds.map((r) => r[peer]).filter((s): s is SessionResult => s?.burst !== undefined);
      if (sessions.length === 0) continue;
      const phase = (s: SessionResult): PhaseResult => s.burst!;
      const seconds = (ms: number): number => ms / 1000;
      rows.push({
        streams: streams.toLocaleString('en-US'),
        peer: PEER_LABEL[peer],
        delivered: sessions.map((s) => `${fixed((100 * phase(s).delivered) / phase(s).expected, 1)}%`).join(' / '),
        'all complete s': each(sessions.map((s) => seconds(phase(s).completeMs.max)), 2),
        'vs better peer': each(
          rounds.filter((r) => r[peer]?.burst).map((r) => ratio(allComplete(r[peer]!)!, betterPeer(r, allComplete))),
          2,
        ),
        [`complete <= ${BURST_BOUND_S} s`]: sessions.map((s) => `${fixed(100 * phase(s).completeShare, 1)}%`).join(' / '),
        'stream p50 s': each(sessions.map((s) => seconds(phase(s).completeMs.p50)), 2),
        'stream p99 s': each(sessions.map((s) => seconds(phase(s).completeMs.p99)), 2),
        'change p99 ms': each(sessions.map((s) => phase(s).latency.p99), 0),
        'server CPU %': each(sessions.map((s) => phase(s).servingCpu), 0),
        'server µs/change': each(sessions.map((s) => phase(s).servingUsPerChange), 2),
        'etcd CPU %': each(sessions.map((s) => phase(s).etcdCpu), 0),
        'clients CPU %': each(sessions.map((s) => phase(s).clientCpu), 0),
        'etcd watchers': sessions.map((s) => s.gauges.watchers.toLocaleString('en-US')).join(' / '),
      });
    }
  }
  return rows;
}

function idleRows(results: Results): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const [streams, rounds] of results) {
    for (const peer of PEERS) {
      const sessions = rounds.map((r) => r[peer]).filter((s): s is SessionResult => s !== undefined);
      if (sessions.length === 0) continue;
      const rss = ([before, after]: [number, number]): string => `${before.toFixed(0)}->${after.toFixed(0)}`;
      rows.push({
        streams: streams.toLocaleString('en-US'),
        peer: PEER_LABEL[peer],
        open: sessions.map((s) => (s.opened === s.streams ? 'all' : s.opened.toLocaleString('en-US'))).join(' / '),
        'open s': each(sessions.map((s) => s.openMs / 1000), 1),
        server: SERVER_LABEL[peer],
        'server KiB/idle stream': each(sessions.map((s) => s.servingKiBPerStream), 2),
        'server RSS MiB': sessions.map((s) => rss(s.rssMiB.serving)).join(' / '),
        'etcd KiB/idle stream': peer === 'etcd' ? '(server)' : each(sessions.map((s) => s.etcdKiBPerStream), 2),
        'etcd watchers/streams': sessions.map((s) => `${s.gauges.watchers}/${s.gauges.watchStreams}`).join(' / '),
        'proxy coalesced watchers': peer === 'grpc-proxy' ? sessions.map((s) => fixed(s.proxyWatchers, 0)).join(' / ') : '-',
        'server fds': sessions.map((s) => s.fds).join(' / '),
      });
    }
  }
  return rows;
}

function registrationRows(results: RegistrationResult[]): Array<Record<string, string>> {
  const base = results[0];
  return results.map((r) => ({
    what: r.what,
    'regs/s': fixed(r.perSecond, 0),
    'p50 ms': fixed(r.summary.p50, 2),
    'p99 ms': fixed(r.summary.p99, 2),
    'p50 ratio': fixed(r.summary.p50 / base.summary.p50, 2),
    'p99 ratio': fixed(r.summary.p99 / base.summary.p99, 2),
    'regs/s ratio': fixed(r.perSecond / base.perSecond, 2),
    'etcd CPU %': fixed(r.etcdCpu, 0),
    'cell-topo CPU %': fixed(r.cellTopoCpu, 0),
  }));
}

/** What each session saw beyond the table: anything wrong in the system under test shows here. */
function sessionNotes(s: SessionResult): string {
  const parts = [`N=${s.streams} ${PEER_LABEL[s.peer]} #${s.repetition}: opened ${s.opened}/${s.streams} in ${(s.openMs / 1000).toFixed(1)} s`];
  if (s.rssMiB.etcd) parts.push(`etcd RSS ${s.rssMiB.etcd[0].toFixed(0)} -> ${s.rssMiB.etcd[1].toFixed(0)} MiB`);
  if (s.gauges.slowWatchers > 0) parts.push(`${s.gauges.slowWatchers} etcd slow watchers`);
  const opening = Object.entries(s.failures);
  if (opening.length > 0) parts.push(`opening failures: ${opening.map(([m, n]) => `${n}x ${m}`).join('; ')}`);
  for (const phase of [s.steady, s.burst]) {
    if (!phase) continue;
    const bits = [
      `${phase.writes} writes, ${phase.delivered}/${phase.expected} receipts in ${(phase.phaseMs / 1000).toFixed(1)} s`,
      `delivered ones p50 ${fixed(phase.deliveredLatency.p50, 1)} ms, p99 ${fixed(phase.deliveredLatency.p99, 1)} ms`,
      `${phase.changeMessages} change messages`,
    ];
    const refused = Object.entries(phase.failedWrites);
    if (refused.length > 0) bits.push(`etcd REFUSED writes (owed to no stream): ${refused.map(([m, n]) => `${n}x ${m}`).join('; ')}`);
    if (phase.mergedMessages > 0) bits.push(`${phase.mergedMessages} merged (transactions > 1)`);
    if (phase.continuedMessages > 0) bits.push(`${phase.continuedMessages} continued`);
    if (phase.duplicates > 0) bits.push(`${phase.duplicates} DUPLICATE or out-of-order changes`);
    if (phase.broken > 0) bits.push(`${phase.broken} streams BROKE after opening`);
    const failures = Object.entries(phase.failures);
    if (failures.length > 0) bits.push(`failures: ${failures.map(([m, n]) => `${n}x ${m}`).join('; ')}`);
    bits.push(`CPU outside the benchmark ${phase.otherCpu.toFixed(0)}% of a core`);
    if (s.peer === 'cell-topo' && phase.kind === 'steady' && Number.isFinite(phase.servingUsPerChange)) {
      // One Node process sends on one core: its CPU per change caps the changes per second.
      const capacity = 1e6 / phase.servingUsPerChange;
      const asked = s.opened * RATE;
      bits.push(
        `at ${phase.servingUsPerChange.toFixed(2)} µs per change one core delivers about ${Math.round(capacity).toLocaleString('en-US')} changes/s; ` +
          `${s.opened.toLocaleString('en-US')} streams x ${RATE}/s ask ${asked.toLocaleString('en-US')}/s`,
      );
    }
    parts.push(`${phase.kind}: ${bits.join(', ')}`);
  }
  return parts.join('; ');
}

/** Each target of the watch issue against this run's figures, per repetition. */
function targetLines(results: Results, registration: RegistrationResult[]): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean[]): string => (ok.length === 0 ? 'not measured' : ok.every(Boolean) ? 'met' : ok.some(Boolean) ? 'met in some repetitions' : 'MISSED');
  for (const [streams, rounds] of results) {
    const ours = rounds.filter((r) => r['cell-topo']?.steady);
    if (ours.length > 0) {
      const p99 = (s: SessionResult): number | undefined => s.steady?.latency.p99;
      const delivered = ours.map((r) => r['cell-topo']!.steady!.delivered >= r['cell-topo']!.steady!.expected);
      const ratios = ours.map((r) => ratio(p99(r['cell-topo']!)!, betterPeer(r, p99)));
      lines.push(
        `steady N=${streams}: 100% delivered ${verdict(delivered)}; p99 <= 0.5x the better peer ${verdict(ratios.map((x) => x <= 0.5))} (${each(ratios, 2)})`,
      );
      const us = ours.map((r) => r['cell-topo']!.steady!.servingUsPerChange);
      if (streams >= 10_000) lines.push(`server CPU per change at N=${streams} <= 4 µs ${verdict(us.map((x) => x <= 4))} (${each(us, 2)} µs)`);
    }
    const burst = rounds.filter((r) => r['cell-topo']?.burst);
    if (burst.length > 0) {
      const complete = (s: SessionResult): number | undefined => s.burst?.completeMs.max;
      const ratios = burst.map((r) => ratio(complete(r['cell-topo']!)!, betterPeer(r, complete)));
      lines.push(`burst N=${streams}: every stream complete in <= 0.5x the better peer's time ${verdict(ratios.map((x) => x <= 0.5))} (${each(ratios, 2)})`);
    }
  }
  const largest = [...results.keys()].filter((n) => n >= 1000).pop();
  const idle = largest === undefined ? [] : results.get(largest)!.map((r) => r['cell-topo']?.servingKiBPerStream).filter((v): v is number => v !== undefined);
  if (idle.length > 0) lines.push(`RSS per idle stream <= 8 KiB at N=${largest} ${verdict(idle.map((x) => x <= 8))} (${each(idle, 2)} KiB)`);
  if (registration.length === 3) {
    const p99 = registration[2].summary.p99 / registration[0].summary.p99;
    lines.push(`RegisterTablet p99 <= 1.25x the raw transaction, ${REGISTRATION_CONCURRENCY} concurrent ${verdict([p99 <= 1.25])} (${fixed(p99, 2)}x)`);
  }
  return lines;
}

function howMeasured(clock: ClockCheck): string {
  return [
    `How measured: etcd 3.4 (one member for the cell, one for global-topo, loopback), global-topo and cell-topo run as separate`,
    `processes started from their entry files. Three peers serve the subscribers, one at a time on the same cell etcd: raw etcd3`,
    `watchers on the tablets prefix straight to etcd; the same etcd3 watchers through \`etcd grpc-proxy start\` (the same etcd`,
    `binary, started fresh for each session, pointed at the cell etcd); N unfiltered cell-topo WatchTablets streams (decoded by`,
    `the generated client) on a freshly started cell-topo. Only the peer being measured runs. Subscribers live in ${WORKERS} client`,
    `processes (child_process.fork), ${PER_CHANNEL} streams per channel, each channel its own HTTP/2 connection; ${WATCHERS_PER_STREAM === 1 ? 'each etcd3 watcher has its own Watch stream (its own etcd3 client), as each WatchTablets call is its own stream' : `${WATCHERS_PER_STREAM} etcd3 watchers share one Watch stream (one etcd3 client)`}. Each (peer, N) is a`,
    `session: open N, let them sit idle, then run the phases measured at that N on the same streams, then close. Steady: a writer`,
    `puts ${RATE} tablet records a second for ${DURATION_S} s (open loop, round-robin over ${TABLETS} tablets) straight to etcd, so every peer`,
    `sees the same etcd events; latency runs from the put's acknowledgement to each stream's receipt of that change, and a`,
    `receipt still missing ${DRAIN_TIMEOUT_MS / 1000} s after the last write counts as "never". Burst: ${BURST_SIZE} puts of ${BURST_SIZE} distinct tablets`,
    `(created beforehand) issued together straight to etcd; "all complete" is the latest receipt on any stream of the last of`,
    `its ${BURST_SIZE} changes minus the moment before the first put was issued, and the share of streams that had all ${BURST_SIZE} within`,
    `${BURST_BOUND_S} s. Receipts are counted per change, not per message: a stream that fell behind may get one message carrying`,
    `several transactions (each change with its own version) or a transaction over \`continued\` messages; a change at or below`,
    `a revision the stream already had, outside its transaction, counts as a duplicate. Every stamp is CLOCK_MONOTONIC`,
    `(process.hrtime), which Linux shares across processes (checked: ${clock.pings - clock.outside}/${clock.pings} pings saw the worker's clock inside the`,
    `parent's round trip, p50 ${clock.roundTripP50Ms.toFixed(3)} ms). Idle KiB/stream is the serving process's VmRSS growth per open stream:`,
    `the lowest reading over ${IDLE_SETTLE_S} s before opening against the lowest over ${IDLE_SETTLE_S} s of idle streams after (the low point`,
    `of a garbage-collected heap, read from outside; small N vanish in the heap's slack). CPU % is utime+stime from /proc from`,
    `the first write until every receipt arrived (or the window closed), as % of one core; server µs/change is the serving`,
    `process's CPU (cell-topo, grpc-proxy, or etcd for raw watchers, where it includes applying the writes) over that time,`,
    `per change delivered to a stream. Watchers and watch streams are etcd's own gauges (etcd_debugging_mvcc_watcher_total,`,
    `_watch_stream_total on /metrics) with the streams open and idle. Each (peer, N) runs ${REPEAT === 1 ? 'once' : `${REPEAT} times, shown "first / second"`};`,
    `the peers take turns within a repetition (the order reversed in the next), and every ratio compares with the better of raw`,
    `etcd and grpc-proxy in the same repetition. etcd's grpc-proxy cancels a client's whole watch stream when a send to it`,
    `times out (its per-stream buffer stays full), so under a burst its streams break and the etcd3 client re-watches: such`,
    `streams count as broken, their missing changes as undelivered. Clients, services and etcd share the machine's cores, so a busy client`,
    `(clients CPU %) slows its server. Registration: ${REGISTRATIONS} new tablets, ${REGISTRATION_CONCURRENCY} at a time, each worker on its own shard`,
    `(no conflicts); the raw rows send the etcd requests the registry sends, from the benchmark process.`,
  ].join(' ');
}

async function main(): Promise<void> {
  if (STEADY_COUNTS.length + BURST_COUNTS.length === 0 || [...STEADY_COUNTS, ...BURST_COUNTS].some((n) => n < 1)) {
    throw new Error('--streams and --burst need counts of at least 1 (one of them may be empty)');
  }
  if (!(DURATION_S > 0) || RATE < 1 || WORKERS < 1 || PER_CHANNEL < 1 || WATCHERS_PER_STREAM < 1 || TABLETS < 1 || REPEAT < 1 || BURST_SIZE < 1) {
    throw new Error('--duration, --rate, --workers, --streams-per-channel, --etcd-watchers-per-stream, --tablets, --repeat and --burst-size must be positive');
  }

  const started = performance.now();
  let stack: BenchStack | undefined;
  let workers: WatchWorkers | undefined;
  let writer: Etcd3 | undefined;
  let failed = true;
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      workers?.stop();
      writer?.close();
      await stack?.stop(failed);
      if (failed && stack) console.error(`service logs kept in ${stack.logDir}`);
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      console.error(`[watch-bench] ${signal}: stopping everything`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    const elapsedS = (): number => (performance.now() - started) / 1000;
    const progress = (what: string): void => console.error(`[watch-bench] ${what} at ${elapsedS().toFixed(0)} s`);
    stack = await BenchStack.start({ cell: CELL, keyspace: KEYSPACE, shards: evenShards(REGISTRATION_CONCURRENCY) });
    progress('stack up');
    workers = await WatchWorkers.start(WORKERS);
    progress('client workers up');
    const clock = await workers.checkClock(50);
    if (clock.outside > 0) {
      console.warn(`warning: ${clock.outside} clock pings fell outside the round trip (worst ${clock.worstOutsideUs.toFixed(1)} µs)`);
    }
    writer = new Etcd3({ hosts: stack.cellEtcd.endpoints });
    await createWatchedTablets((await stack.startCellTopo()).address, Math.max(TABLETS, BURST_COUNTS.length > 0 ? BURST_SIZE : 0));
    await stack.stopCellTopo();
    progress('tablets created');

    const bench = new Bench(stack, workers, writer);
    const results: Results = new Map();
    const skipped: string[] = [];
    /** Seconds each (peer, N) session took, for the budget of the next repetition. */
    const tookS = new Map<string, number>();
    const allCounts = [...new Set([...STEADY_COUNTS, ...BURST_COUNTS])].sort((a, b) => a - b);
    for (const streams of allCounts) {
      for (let repetition = 1; repetition <= REPEAT; repetition++) {
        const sessionS = (peer: Peer): number => tookS.get(`${peer}:${streams}`) ?? estimateSeconds(peer, streams);
        const neededS = PEERS.reduce((sum, peer) => sum + sessionS(peer), 0) + (REGISTRATIONS > 0 ? REGISTRATION_RESERVE_S : 0);
        if (elapsedS() + neededS > BUDGET_S) {
          skipped.push(
            `N=${streams} repetition ${repetition} skipped: about ${neededS.toFixed(0)} s needed, ${(BUDGET_S - elapsedS()).toFixed(0)} s of the --budget ${BUDGET_S} s left`,
          );
          continue;
        }
        const round: Round = {};
        if (!results.has(streams)) results.set(streams, []);
        results.get(streams)!.push(round);
        const order = repetition % 2 === 1 ? PEERS : [...PEERS].reverse();
        for (const peer of order) {
          const sessionStart = elapsedS();
          try {
            round[peer] = await bench.session(peer, streams, repetition);
            progress(`N=${streams} #${repetition}: ${peer} measured`);
          } catch (err) {
            // One session failing (etcd timing out on a loaded machine) leaves the others worth printing.
            const message = err instanceof Error ? err.message : String(err);
            skipped.push(`N=${streams} repetition ${repetition} ${PEER_LABEL[peer]} FAILED: ${message}`);
            progress(`N=${streams} #${repetition}: ${peer} failed: ${message}`);
            await stack.stopCellTopo();
          }
          tookS.set(`${peer}:${streams}`, elapsedS() - sessionStart);
        }
      }
    }
    const registration = REGISTRATIONS > 0 ? await measureRegistration(stack, REGISTRATIONS, REGISTRATION_CONCURRENCY) : [];

    const repetitions = REPEAT > 1 ? `, figures per repetition "first / second"` : '';
    const steady = steadyRows(results);
    if (steady.length > 0) {
      console.log(
        `\nWatch fan-out, steady: ${RATE} changes/s for ${DURATION_S} s, ${WORKERS} client processes, ${PER_CHANNEL} streams per channel, ${WATCHERS_PER_STREAM} etcd3 watcher(s) per Watch stream${repetitions}`,
      );
      printTable(steady);
    }
    const burst = burstRows(results);
    if (burst.length > 0) {
      console.log(`\nWatch fan-out, burst: ${BURST_SIZE} tablets changed at once, straight to etcd${repetitions}`);
      printTable(burst);
    }
    const idle = idleRows(results);
    if (idle.length > 0) {
      console.log(`\nIdle streams: the serving process's RSS growth per open stream, ${IDLE_SETTLE_S} s after opening${repetitions}`);
      printTable(idle);
    }
    console.log('');
    for (const rounds of results.values()) for (const round of rounds) for (const peer of PEERS) if (round[peer]) console.log(`- ${sessionNotes(round[peer]!)}`);
    for (const line of skipped) console.log(`- ${line}`);
    if (registration.length > 0) {
      console.log(`\nRegistration: ${REGISTRATIONS} new tablets, concurrency ${REGISTRATION_CONCURRENCY} (ratios against the raw txn)`);
      printTable(registrationRows(registration));
      const [, calls, ours] = registration;
      console.log(
        `RegisterTablet against the raw registry calls: p99 ${fixed(ours.summary.p99 / calls.summary.p99, 2)}x, ` +
          `throughput ${fixed(ours.perSecond / calls.perSecond, 2)}x`,
      );
    }
    const targets = targetLines(results, registration);
    if (targets.length > 0) {
      console.log('\nTargets (ratios within this run):');
      for (const line of targets) console.log(`- ${line}`);
    }
    console.log(`\n${howMeasured(clock)}`);
    console.log(`\n(total ${elapsedS().toFixed(0)} s)`);
    failed = false;
  } finally {
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
