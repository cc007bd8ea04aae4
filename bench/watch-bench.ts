/**
 * Watch fan-out and registration against raw etcd, same machine, same run. For each
 * subscriber count N: N WatchTablets streams to a real cell-topo process, then N etcd3
 * watchers straight on etcd (the baseline), opened from separate client processes, while
 * tablets change at a fixed rate. Then RegisterTablet against the raw etcd transaction of
 * the same shape. Prints the tables and how they were measured.
 *
 *   npx ts-node --transpile-only bench/watch-bench.ts [--streams 100,1000,10000] [--rate 20]
 *     [--duration 10] [--workers 4] [--streams-per-channel 500] [--registrations 1000]
 *     [--registration-concurrency 16] [--budget 270]
 */
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { unaryCall } from '../libs/client';
import { Tablet, TabletType } from '../libs/proto';
import { CellTopoServiceClient } from '../libs/proto/gen/topo/cell/v1/cell';
import { tabletPath } from '../libs/topo';
import { BenchStack, evenShards, whenAvailable } from './bench-stack';
import { CpuMeter, etcdWatchGauges, fdLimit, openFds, OtherCpuMeter, rssKiB } from './proc-stats';
import { measureRegistration, type RegistrationResult } from './registration';
import { printTable, summarize, type Summary } from './stats';
import { nowNs, type SubscriberKind } from './watch-protocol';
import { WatchWorkers, type ClockCheck } from './watch-workers';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '100,1000,10000' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    'streams-per-channel': { type: 'string', default: '500' },
    tablets: { type: 'string', default: '5' },
    registrations: { type: 'string', default: '1000' },
    'registration-concurrency': { type: 'string', default: '16' },
    budget: { type: 'string', default: '270' },
  },
});

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  return value;
}

const STREAM_COUNTS = values.streams!.split(',').map((n) => wholeNumber('streams', n.trim().replace(/_/g, '')));
const RATE = wholeNumber('rate', values.rate!);
const DURATION_S = Number(values.duration);
const WORKERS = wholeNumber('workers', values.workers!);
const PER_CHANNEL = wholeNumber('streams-per-channel', values['streams-per-channel']!);
const TABLETS = wholeNumber('tablets', values.tablets!);
const REGISTRATIONS = wholeNumber('registrations', values.registrations!);
const REGISTRATION_CONCURRENCY = wholeNumber('registration-concurrency', values['registration-concurrency']!);
/** Seconds the whole run may take: a subscriber count that would not fit is skipped, and said so. */
const BUDGET_S = wholeNumber('budget', values.budget!);

const CELL = 'zone1';
const KEYSPACE = 'bench';
/** How long the changes of the last write may take to reach every stream before the run is cut. */
const DRAIN_TIMEOUT_MS = 10_000;
const SETTLE_MS = 1000;

interface RunResult {
  kind: SubscriberKind;
  streams: number;
  opened: number;
  openMs: number;
  /** Over every receipt owed: one never made within the drain window counts as infinitely late. */
  latency: Summary;
  /** Over the receipts made. */
  deliveredLatency: Summary;
  expected: number;
  delivered: number;
  duplicates: number;
  broken: number;
  failures: Record<string, number>;
  /** VmRSS before opening and after, MiB. */
  rssMiB: { cellTopo?: [number, number]; etcd: [number, number] };
  cellTopoKiBPerStream: number | undefined;
  cellTopoCpu: number | undefined;
  etcdKiBPerStream: number;
  etcdCpu: number;
  /** CPU of the serving process (cell-topo, or etcd for the baseline) per delivered message, writes and drain. */
  servingUsPerMessage: number;
  clientCpu: number;
  /** Machine CPU outside the benchmark's processes during the writes. */
  otherCpu: number;
  watchers: number;
  watchStreams: number;
  slowWatchers: number;
  /** The serving process's open files once the streams were open, and its limit. */
  fds: string;
  writes: number;
  drainedMs: number;
}

/** Rough cost of one subscriber count: a cell-topo start, then per kind opening, settling, writing, draining. */
function estimateSeconds(streams: number): number {
  const perKind = streams / 1000 + SETTLE_MS / 1000 + DURATION_S + 3;
  return CELL_TOPO_START_S + 2 * perKind;
}
const CELL_TOPO_START_S = 8;
const REGISTRATION_RESERVE_S = 30;

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

/** The watched tablets, created through cell-topo as a tablet's host would. */
async function createWatchedTablets(address: string): Promise<void> {
  const client = new CellTopoServiceClient(address, credentials.createInsecure());
  try {
    for (let i = 0; i < TABLETS; i++) {
      await whenAvailable(() => unaryCall(client.createTablet.bind(client), { tablet: watchedTablet(i, `tablet-${i + 1}.bench`) }));
    }
  } finally {
    client.close();
  }
}

/**
 * `RATE` writes a second for `DURATION_S`, open loop (on schedule, never waiting for the
 * previous ack), each a put of one watched tablet's record with a new hostname, straight to
 * etcd so that both kinds of subscriber see the very same etcd event. Resolves to each
 * write's revision and the time its acknowledgement arrived.
 */
async function writeChanges(writer: Etcd3, root: string): Promise<Array<[string, number]>> {
  const count = Math.max(1, Math.round(RATE * DURATION_S));
  const intervalMs = 1000 / RATE;
  const acks: Array<[string, number]> = [];
  const inFlight: Array<Promise<void>> = [];
  // Caught as they happen: a write failing while later ones are still being scheduled must not go unhandled.
  let failure: { error: unknown } | undefined;
  const start = performance.now();
  for (let k = 0; k < count && !failure; k++) {
    const wait = start + k * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const tablet = watchedTablet(k % TABLETS, `tablet-${(k % TABLETS) + 1}-change-${k}.bench`);
    const key = `${root}/${tabletPath(tablet.alias!)}`;
    inFlight.push(
      writer
        .put(key)
        .value(Buffer.from(Tablet.encode(tablet).finish()))
        .exec()
        .then(
          (response) => void acks.push([response.header.revision, nowNs()]),
          (error: unknown) => void (failure ??= { error }),
        ),
    );
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return acks;
}

/** N spread over the workers as evenly as can be. */
function shares(total: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0));
}

async function measure(
  stack: BenchStack,
  workers: WatchWorkers,
  writer: Etcd3,
  kind: SubscriberKind,
  streams: number,
  cellTopo: { address: string; pid: number } | undefined,
): Promise<RunResult> {
  const etcdUrl = stack.cellEtcd.endpoints[0];
  const etcdPid = stack.cellEtcdPid;
  const rssBefore = { cellTopo: cellTopo && rssKiB(cellTopo.pid), etcd: rssKiB(etcdPid) };
  const openTimeoutMs = Math.max(20_000, streams * 5);
  const target = kind === 'cell-topo' ? cellTopo!.address : stack.cellEtcd.endpoints.join(',');
  const split = shares(streams, workers.size);
  const opened = await workers.all(
    (i) => ({
      type: 'open',
      kind,
      target,
      etcdPrefix: `${stack.cellRoot}/tablets/`,
      streams: split[i],
      streamsPerChannel: PER_CHANNEL,
      timeoutMs: openTimeoutMs,
    }),
    'opened',
    openTimeoutMs + 60_000,
  );
  const openCount = opened.reduce((sum, o) => sum + o.reply.opened, 0);
  await sleep(SETTLE_MS);
  const servingPid = cellTopo?.pid ?? etcdPid;
  const fds = `${openFds(servingPid)} of ${fdLimit(servingPid)}`;
  const gauges = await etcdWatchGauges(etcdUrl);
  const rssAfter = { cellTopo: cellTopo && rssKiB(cellTopo.pid), etcd: rssKiB(etcdPid) };
  const perStream = (before: number, after: number): number => (openCount > 0 ? (after - before) / openCount : NaN);
  const cellTopoKiBPerStream = cellTopo && perStream(rssBefore.cellTopo!, rssAfter.cellTopo!);
  const etcdKiBPerStream = perStream(rssBefore.etcd, rssAfter.etcd);
  const mib = (kib: number): number => kib / 1024;

  const cpu = {
    cellTopo: cellTopo && new CpuMeter([cellTopo.pid]),
    etcd: new CpuMeter([etcdPid]),
    clients: new CpuMeter(workers.pids),
    others: new OtherCpuMeter([process.pid, ...stack.pids, ...workers.pids]),
  };
  const acks = await writeChanges(writer, stack.cellRoot);
  const cellTopoCpu = cpu.cellTopo?.percentOfOneCore();
  const etcdCpu = cpu.etcd.percentOfOneCore();
  const clientCpu = cpu.clients.percentOfOneCore();
  const otherCpu = cpu.others.percentOfOneCore();

  // Every open stream owes a receipt of every write; wait for them, within a bound.
  const owed = acks.length * openCount;
  const drainStart = performance.now();
  for (;;) {
    const progress = await workers.all(() => ({ type: 'progress' }), 'progress', 30_000);
    const receipts = progress.reduce((sum, p) => sum + p.reply.receipts, 0);
    if (receipts >= owed || performance.now() - drainStart > DRAIN_TIMEOUT_MS) break;
    await sleep(100);
  }
  const drainedMs = performance.now() - drainStart;
  const servingCpuSeconds = (cpu.cellTopo ?? cpu.etcd).seconds();
  const collected = await workers.all(() => ({ type: 'collect', acks }), 'collected', 120_000);
  await workers.all(() => ({ type: 'close' }), 'closed', 60_000);

  const failures: Record<string, number> = {};
  for (const source of [...opened.map((o) => o.reply.failures), ...collected.map((c) => c.reply.failures)]) {
    for (const [message, n] of Object.entries(source)) failures[message] = Math.max(failures[message] ?? 0, n);
  }
  const delivered = collected.reduce((sum, c) => sum + c.reply.latenciesMs.length, 0);
  const expected = collected.reduce((sum, c) => sum + c.reply.expected, 0);
  const latencies = new Float64Array(Math.max(delivered, expected)).fill(Infinity);
  let offset = 0;
  for (const c of collected) {
    latencies.set(c.reply.latenciesMs, offset);
    offset += c.reply.latenciesMs.length;
  }
  return {
    kind,
    streams,
    opened: openCount,
    openMs: Math.max(...opened.map((o) => o.reply.openMs)),
    latency: summarize(latencies),
    deliveredLatency: summarize(latencies.subarray(0, delivered)),
    expected,
    delivered,
    duplicates: collected.reduce((sum, c) => sum + c.reply.duplicates, 0),
    broken: collected.reduce((sum, c) => sum + c.reply.broken, 0),
    failures,
    rssMiB: {
      cellTopo: cellTopo && [mib(rssBefore.cellTopo!), mib(rssAfter.cellTopo!)],
      etcd: [mib(rssBefore.etcd), mib(rssAfter.etcd)],
    },
    cellTopoKiBPerStream,
    cellTopoCpu,
    etcdKiBPerStream,
    etcdCpu,
    servingUsPerMessage: delivered > 0 ? (servingCpuSeconds * 1e6) / delivered : NaN,
    clientCpu,
    otherCpu,
    watchers: gauges.watchers,
    watchStreams: gauges.watchStreams,
    slowWatchers: gauges.slowWatchers,
    fds,
    writes: acks.length,
    drainedMs,
  };
}

function fixed(value: number | undefined, digits: number): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value === Infinity ? 'undelivered' : value.toFixed(digits);
}

function watchRow(run: RunResult, baseline: RunResult | undefined): Record<string, string> {
  const ratio = (ours: number, theirs: number): string => (Number.isFinite(ours) && Number.isFinite(theirs) ? fixed(ours / theirs, 2) : '-');
  return {
    streams: run.streams.toLocaleString('en-US'),
    subscribers: run.kind === 'etcd' ? 'raw etcd3 watchers' : 'cell-topo WatchTablets',
    open: run.opened === run.streams ? 'all' : `${run.opened.toLocaleString('en-US')}`,
    delivered: run.expected === 0 ? '-' : `${fixed((100 * run.delivered) / run.expected, 2)}%`,
    'p50 ms': fixed(run.latency.p50, 2),
    'p99 ms': fixed(run.latency.p99, 2),
    'max ms': fixed(run.latency.max, 2),
    'p50 ratio': baseline ? ratio(run.latency.p50, baseline.latency.p50) : '1.00',
    'p99 ratio': baseline ? ratio(run.latency.p99, baseline.latency.p99) : '1.00',
    'cell-topo KiB/stream': fixed(run.cellTopoKiBPerStream, 1),
    'cell-topo CPU %': fixed(run.cellTopoCpu, 0),
    'etcd KiB/stream': fixed(run.etcdKiBPerStream, 1),
    'etcd CPU %': fixed(run.etcdCpu, 0),
    'server µs/msg': fixed(run.servingUsPerMessage, 1),
    'etcd watchers/streams': `${run.watchers}/${run.watchStreams}`,
    'clients CPU %': fixed(run.clientCpu, 0),
  };
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

const rssChange = ([before, after]: [number, number]): string => `${before.toFixed(0)} -> ${after.toFixed(0)} MiB`;

function runNotes(run: RunResult): string {
  const parts = [
    `N=${run.streams} ${run.kind}: opened ${run.opened}/${run.streams} in ${(run.openMs / 1000).toFixed(1)} s`,
    `${run.writes} writes, ${run.delivered}/${run.expected} receipts ${run.delivered >= run.expected ? 'within' : 'NOT all within'} ${(run.drainedMs / 1000).toFixed(1)} s of the last write`,
    `delivered ones p50 ${fixed(run.deliveredLatency.p50, 2)} ms, p99 ${fixed(run.deliveredLatency.p99, 2)} ms`,
    `RSS ${run.kind === 'cell-topo' ? `cell-topo ${rssChange(run.rssMiB.cellTopo!)}, ` : ''}etcd ${rssChange(run.rssMiB.etcd)}`,
    `serving process fds ${run.fds}`,
    `CPU outside the benchmark ${run.otherCpu.toFixed(0)}% of a core`,
  ];
  if (run.kind === 'cell-topo' && Number.isFinite(run.servingUsPerMessage)) {
    // One Node process sends on one core: its CPU per message caps the messages per second.
    const capacity = 1e6 / run.servingUsPerMessage;
    const asked = run.opened * RATE;
    parts.push(
      `cell-topo at ${run.servingUsPerMessage.toFixed(1)} µs CPU per message can send about ${Math.round(capacity).toLocaleString('en-US')}/s on its one core; ` +
        `${run.opened.toLocaleString('en-US')} streams x ${RATE} changes/s ask ${asked.toLocaleString('en-US')}/s` +
        (asked > capacity ? ' (CPU-bound: the backlog grows while changes last)' : ''),
    );
  }
  if (run.duplicates > 0) parts.push(`${run.duplicates} duplicate receipts`);
  if (run.broken > 0) parts.push(`${run.broken} streams broke after opening`);
  if (run.slowWatchers > 0) parts.push(`${run.slowWatchers} etcd slow watchers`);
  const failures = Object.entries(run.failures);
  if (failures.length > 0) parts.push(`failures: ${failures.map(([m, n]) => `${n}x ${m}`).join('; ')}`);
  return parts.join(', ');
}

function howMeasured(clock: ClockCheck): string {
  return [
    `How measured: etcd 3.4 (one member for the cell, one for global-topo, loopback), global-topo and cell-topo run as`,
    `separate processes started from their entry files. Subscribers live in ${WORKERS} client processes (child_process.fork),`,
    `${PER_CHANNEL} streams per channel, each channel its own HTTP/2 connection. For each N, the cell-topo row opens N unfiltered`,
    `WatchTablets streams (decoded by the generated client) on a freshly started cell-topo; the baseline row opens N etcd3`,
    `watchers on the same tablets prefix straight to etcd, with cell-topo stopped. Once all are open, a writer puts ${RATE}`,
    `tablet records a second for ${DURATION_S} s (open loop, round-robin over ${TABLETS} tablets) straight to etcd, so both kinds`,
    `of subscriber see the same etcd events. Latency runs from the put's acknowledgement in the writer to each stream's`,
    `receipt of that revision, both stamped with CLOCK_MONOTONIC (process.hrtime), which Linux shares across processes`,
    `(checked: ${clock.pings - clock.outside}/${clock.pings} pings saw the worker's clock inside the parent's round trip, p50`,
    `${clock.roundTripP50Ms.toFixed(3)} ms); percentiles are over writes x open streams, and a receipt still missing`,
    `${DRAIN_TIMEOUT_MS / 1000} s after the last write counts as "undelivered". KiB/stream is the VmRSS growth of the process`,
    `from before opening to ${SETTLE_MS / 1000} s after, over N (small N vanish in the heap's slack). CPU % is utime+stime from`,
    `/proc over the write period, as % of one core; server µs/msg is the serving process's CPU (cell-topo; etcd for the`,
    `baseline, where it includes applying the writes) over writes and drain, per delivered message. Watchers and watch`,
    `streams are etcd's own gauges (etcd_debugging_mvcc_watcher_total, _watch_stream_total on /metrics) with all streams`,
    `open. Ratios compare with the baseline at the same N. Clients, services and etcd share the machine's 2 cores, so a`,
    `busy client (clients CPU %) slows its server, and the etcd3 baseline at large N is bound by its clients' decoding.`,
    `Registration: ${REGISTRATIONS} new tablets, ${REGISTRATION_CONCURRENCY} at a time, each worker on its own shard (no conflicts);`,
    `the raw rows send the etcd requests the registry sends, from the benchmark process.`,
  ].join(' ');
}

async function main(): Promise<void> {
  if (STREAM_COUNTS.length === 0 || STREAM_COUNTS.some((n) => n < 1)) throw new Error('--streams needs counts of at least 1');
  if (!(DURATION_S > 0) || RATE < 1 || WORKERS < 1 || PER_CHANNEL < 1 || TABLETS < 1) throw new Error('--duration, --rate, --workers, --streams-per-channel and --tablets must be positive');

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
    const progress = (what: string): void => console.error(`[watch-bench] ${what} at ${((performance.now() - started) / 1000).toFixed(0)} s`);
    stack = await BenchStack.start({ cell: CELL, keyspace: KEYSPACE, shards: evenShards(REGISTRATION_CONCURRENCY) });
    progress('stack up');
    workers = await WatchWorkers.start(WORKERS);
    progress('client workers up');
    const clock = await workers.checkClock(50);
    if (clock.outside > 0) {
      console.warn(`warning: ${clock.outside} clock pings fell outside the round trip (worst ${clock.worstOutsideUs.toFixed(1)} µs)`);
    }
    writer = new Etcd3({ hosts: stack.cellEtcd.endpoints });
    await createWatchedTablets((await stack.startCellTopo()).address);
    progress('tablets created');

    const runs: RunResult[] = [];
    const rows: Array<Record<string, string>> = [];
    const skipped: string[] = [];
    for (const streams of STREAM_COUNTS) {
      const elapsedS = (performance.now() - started) / 1000;
      const neededS = estimateSeconds(streams) + (REGISTRATIONS > 0 ? REGISTRATION_RESERVE_S : 0);
      if (elapsedS + neededS > BUDGET_S) {
        skipped.push(`N=${streams} skipped: about ${neededS.toFixed(0)} s needed, ${(BUDGET_S - elapsedS).toFixed(0)} s of the --budget ${BUDGET_S} s left`);
        continue;
      }
      const cellTopo = await stack.startCellTopo();
      progress(`N=${streams}: cell-topo up`);
      const ours = await measure(stack, workers, writer, 'cell-topo', streams, cellTopo);
      await stack.stopCellTopo();
      progress(`N=${streams}: cell-topo measured`);
      const baseline = await measure(stack, workers, writer, 'etcd', streams, undefined);
      runs.push(baseline, ours);
      rows.push(watchRow(baseline, undefined), watchRow(ours, baseline));
      progress(`N=${streams}: etcd measured`);
    }
    const registration = REGISTRATIONS > 0 ? await measureRegistration(stack, REGISTRATIONS, REGISTRATION_CONCURRENCY) : [];

    console.log(
      `\nWatch fan-out: cell-topo WatchTablets vs raw etcd3 watchers, ${RATE} changes/s for ${DURATION_S} s, ` +
        `${WORKERS} client processes, ${PER_CHANNEL} streams per channel`,
    );
    if (rows.length > 0) printTable(rows);
    console.log('');
    for (const run of runs) console.log(`- ${runNotes(run)}`);
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
    console.log(`\n${howMeasured(clock)}`);
    console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    failed = false;
  } finally {
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
