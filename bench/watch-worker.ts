/**
 * A watch-bench client process: opens its share of the subscribers, either WatchTablets
 * streams to cell-topo or etcd3 watchers on the tablets prefix (the baseline), spread over
 * several channels, and stamps the receipt of every change with the shared monotonic clock.
 * Started by watch-bench.ts with child_process.fork; exits when its parent goes away.
 */
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Etcd3, type IWatchResponse, type Watcher } from 'etcd3';
import { CellTopoServiceClient, WatchMessageKind, type WatchTabletsResponse } from '../libs/proto/gen/topo/cell/v1/cell';
import { nowNs, type CollectReply, type OpenReply, type WorkerReply, type WorkerRequest } from './watch-protocol';

/** Own connection per channel: grpc-js would otherwise share one subchannel between clients. */
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1 };

class Subscribers {
  /** Receipt times (ns) of each change revision, one entry per stream that got it. */
  private readonly receipts = new Map<string, number[]>();
  private receiptCount = 0;
  /** Streams that opened, even after the open timeout: each owes a receipt of every change. */
  private openCount = 0;
  private duplicates = 0;
  private broken = 0;
  private readonly failures: Record<string, number> = {};
  private readonly closers: Array<() => Promise<void> | void> = [];
  private closing = false;

  /** A stream received the change at `revision`; revisions only grow on one stream. */
  record(stream: { last: number }, revision: string): void {
    const at = nowNs();
    const value = Number(revision);
    if (value <= stream.last) {
      this.duplicates++;
      return;
    }
    stream.last = value;
    let list = this.receipts.get(revision);
    if (!list) this.receipts.set(revision, (list = []));
    list.push(at);
    this.receiptCount++;
  }

  fail(message: string, afterOpen: boolean): void {
    if (this.closing) return;
    if (afterOpen) this.broken++;
    this.failures[message] = (this.failures[message] ?? 0) + 1;
  }

  async open(request: Extract<WorkerRequest, { type: 'open' }>): Promise<OpenReply> {
    const started = nowNs();
    const channels = Math.ceil(request.streams / request.streamsPerChannel);
    const opening: Array<Promise<boolean>> = [];
    for (let c = 0; c < channels; c++) {
      const count = Math.min(request.streamsPerChannel, request.streams - c * request.streamsPerChannel);
      opening.push(...(request.kind === 'cell-topo' ? this.openCellTopo(request.target, count) : this.openEtcd(request, count)));
    }
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), request.timeoutMs).unref());
    let opened = 0;
    const settled = Promise.all(opening.map((p) => p.then((ok) => void (ok && opened++))));
    if ((await Promise.race([settled, timeout])) === 'timeout') {
      this.fail(`not open after ${request.timeoutMs} ms`, false);
    }
    return { opened, failures: { ...this.failures }, openMs: (nowNs() - started) / 1e6 };
  }

  private openCellTopo(address: string, count: number): Array<Promise<boolean>> {
    const client = new CellTopoServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    const streams: Array<ClientReadableStream<WatchTabletsResponse>> = [];
    this.closers.push(() => {
      for (const stream of streams) stream.cancel();
      client.close();
    });
    return Array.from({ length: count }, () => {
      const state = { last: 0, open: false };
      const stream = client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata());
      streams.push(stream);
      return new Promise<boolean>((resolve) => {
        stream.on('data', (message: WatchTabletsResponse) => {
          if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) {
            this.record(state, message.revision);
          } else if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_MARKER) {
            // Changes are counted from the snapshot's revision on.
            state.last = Number(message.revision);
            state.open = true;
            this.openCount++;
            resolve(true);
          }
        });
        stream.on('error', (err: ServiceError) => {
          this.fail(`${err.code} ${err.details}`, state.open);
          resolve(false);
        });
        stream.on('end', () => resolve(false));
      });
    });
  }

  private openEtcd(request: Extract<WorkerRequest, { type: 'open' }>, count: number): Array<Promise<boolean>> {
    const client = new Etcd3({ hosts: request.target.split(','), grpcOptions: CHANNEL_OPTIONS });
    const watchers: Watcher[] = [];
    this.closers.push(async () => {
      await Promise.all(watchers.map((w) => w.cancel().catch(() => undefined)));
      client.close();
    });
    return Array.from({ length: count }, async () => {
      const state = { last: 0, open: false };
      try {
        const watcher = await client.watch().prefix(request.etcdPrefix).create();
        watchers.push(watcher);
        // An etcd3 watcher without an error listener crashes the process when it errs.
        watcher.on('error', (err: Error) => this.fail(err.message, state.open));
        watcher.on('disconnected', (err: Error) => this.fail(`disconnected: ${err.message}`, state.open));
        watcher.on('data', (response: IWatchResponse) => {
          for (const event of response.events) if (event.type === 'Put') this.record(state, event.kv.mod_revision);
        });
        state.open = true;
        this.openCount++;
        return true;
      } catch (err) {
        this.fail((err as Error).message, false);
        return false;
      }
    });
  }

  progress(): { receipts: number; broken: number } {
    return { receipts: this.receiptCount, broken: this.broken };
  }

  collect(acks: Array<[string, number]>): CollectReply {
    const ackAt = new Map(acks);
    let count = 0;
    for (const [revision, list] of this.receipts) if (ackAt.has(revision)) count += list.length;
    const latenciesMs = new Float64Array(count);
    let i = 0;
    for (const [revision, list] of this.receipts) {
      const ack = ackAt.get(revision);
      if (ack === undefined) continue;
      for (const at of list) latenciesMs[i++] = (at - ack) / 1e6;
    }
    return {
      latenciesMs,
      expected: acks.length * this.openCount,
      duplicates: this.duplicates,
      broken: this.broken,
      failures: { ...this.failures },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.closers.map((close) => close()));
  }
}

let subscribers: Subscribers | undefined;

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.type) {
    case 'ping':
      return { id: request.id, type: 'pong', nowNs: nowNs() };
    case 'open': {
      await subscribers?.close();
      subscribers = new Subscribers();
      return { id: request.id, type: 'opened', reply: await subscribers.open(request) };
    }
    case 'progress':
      return { id: request.id, type: 'progress', reply: subscribers?.progress() ?? { receipts: 0, broken: 0 } };
    case 'collect': {
      if (!subscribers) throw new Error('collect before open');
      return { id: request.id, type: 'collected', reply: subscribers.collect(request.acks) };
    }
    case 'close':
      await subscribers?.close();
      subscribers = undefined;
      return { id: request.id, type: 'closed' };
  }
}

if (!process.send) {
  console.error('watch-worker.ts is started by watch-bench.ts (child_process.fork), not by hand');
  process.exit(2);
}
process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (reply) => process.send!(reply),
    (err: unknown) => process.send!({ id: request.id, type: 'failed', message: err instanceof Error ? err.message : String(err) }),
  );
});
process.send({ id: 0, type: 'ready' });
// Orphaned by a parent that died: nothing left to report to.
process.on('disconnect', () => process.exit(0));
