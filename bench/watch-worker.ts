/**
 * A watch-bench client process: opens its share of the subscribers, either WatchTablets
 * streams to cell-topo or etcd3 watchers on the tablets prefix (straight to etcd or through
 * etcd's grpc-proxy), spread over several channels, and stamps the receipt of every change
 * revision with the shared monotonic clock: per change, not per message, since a stream that
 * fell behind receives several transactions in one message.
 * Started by watch-bench.ts with child_process.fork; exits when its parent goes away.
 */
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Etcd3, type IWatchResponse, type Watcher } from 'etcd3';
import { CellTopoServiceClient, WatchMessageKind, type TabletChange, type WatchTabletsResponse } from '../libs/proto/gen/topo/cell/v1/cell';
import { nowNs, type CollectReply, type OpenReply, type WorkerReply, type WorkerRequest } from './watch-protocol';

/** Own connection per channel: grpc-js would otherwise share one subchannel between clients. */
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1 };
const CANCEL_WAIT_MS = 3000;
/**
 * etcd3 clients with the same value share one connection (grpc-js pools subchannels by
 * target and options); each channel of subscribers gets its own value.
 */
const CONNECTION_OPTION = 'topo-bench.connection';

/** One subscriber stream and what it received. */
interface StreamState {
  /** Highest change revision received; revisions only grow on one stream. */
  last: number;
  /** The previous CHANGES message was flagged `continued`: its transaction goes on in the next one. */
  continued: boolean;
  open: boolean;
  /** Revisions received since the last collect, and when (ns, CLOCK_MONOTONIC). */
  revisions: number[];
  at: number[];
}

class Subscribers {
  /** Every stream that opened, even after the open timeout: each owes a receipt of every change. */
  private readonly streams: StreamState[] = [];
  private receiptCount = 0;
  private duplicates = 0;
  private broken = 0;
  private mergedMessages = 0;
  private continuedMessages = 0;
  private changeMessages = 0;
  private failures: Record<string, number> = {};
  private readonly closers: Array<() => Promise<void> | void> = [];
  private closing = false;
  private connections = 0;

  private newStream(): StreamState {
    return { last: 0, continued: false, open: false, revisions: [], at: [] };
  }

  private opened(stream: StreamState): void {
    stream.open = true;
    this.streams.push(stream);
  }

  /**
   * One message's changes, each with its own revision, all stamped with the message's
   * receipt time. A receipt is per revision and stream: several changes of one transaction
   * (same revision, in one message or over `continued` parts) make one receipt; a revision
   * at or below one already received, outside that transaction, is a duplicate.
   */
  record<T>(stream: StreamState, items: readonly T[], revisionOf: (item: T) => string | undefined, continued: boolean): void {
    const at = nowNs();
    const sameTransaction = stream.continued;
    let inThisMessage = -1;
    for (const item of items) {
      const text = revisionOf(item);
      if (text === undefined) continue;
      const revision = Number(text);
      if (revision > stream.last) {
        stream.last = inThisMessage = revision;
        stream.revisions.push(revision);
        stream.at.push(at);
        this.receiptCount++;
      } else if (revision !== stream.last || (revision !== inThisMessage && !sameTransaction)) {
        this.duplicates++;
      }
    }
    stream.continued = continued;
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
      const state = this.newStream();
      const stream = client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata());
      streams.push(stream);
      return new Promise<boolean>((resolve) => {
        stream.on('data', (message: WatchTabletsResponse) => {
          if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) {
            // A stream that fell behind gets one message with every transaction it missed.
            this.changeMessages++;
            if (message.transactions > 1) this.mergedMessages++;
            if (message.continued) this.continuedMessages++;
            this.record(state, message.changes, changeVersion, message.continued);
          } else if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_MARKER) {
            // Changes are counted from the snapshot's revision on.
            state.last = Number(message.revision);
            this.opened(state);
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

  /**
   * `count` etcd3 watchers on one connection: each etcd3 client multiplexes its watchers on
   * one Watch stream, so `watchersPerStream` of them share a client; the clients of one
   * connection share it through grpc-js's subchannel pool (same target, same options).
   */
  private openEtcd(request: Extract<WorkerRequest, { type: 'open' }>, count: number): Array<Promise<boolean>> {
    const grpcOptions = { [CONNECTION_OPTION]: ++this.connections };
    const opening: Array<Promise<boolean>> = [];
    for (let first = 0; first < count; first += request.watchersPerStream) {
      const client = new Etcd3({ hosts: request.target.split(','), grpcOptions });
      const watchers: Watcher[] = [];
      this.closers.push(async () => {
        // A watcher whose stream was cut (grpc-proxy cancels slow streams) may never confirm its
        // cancel: closing the client ends it anyway.
        const cancelled = Promise.all(watchers.map((w) => w.cancel().catch(() => undefined)));
        await Promise.race([cancelled, new Promise((resolve) => setTimeout(resolve, CANCEL_WAIT_MS).unref())]);
        client.close();
      });
      const here = Math.min(request.watchersPerStream, count - first);
      for (let i = 0; i < here; i++) opening.push(this.openEtcdWatcher(client, request.etcdPrefix, watchers));
    }
    return opening;
  }

  private async openEtcdWatcher(client: Etcd3, prefix: string, watchers: Watcher[]): Promise<boolean> {
    const state = this.newStream();
    try {
      const watcher = await client.watch().prefix(prefix).create();
      watchers.push(watcher);
      // An etcd3 watcher without an error listener crashes the process when it errs.
      watcher.on('error', (err: Error) => this.fail(err.message, state.open));
      watcher.on('disconnected', (err: Error) => this.fail(`disconnected: ${err.message}`, state.open));
      watcher.on('data', (response: IWatchResponse) => {
        this.changeMessages++;
        this.record(state, response.events, putRevision, false);
      });
      this.opened(state);
      return true;
    } catch (err) {
      this.fail((err as Error).message, false);
      return false;
    }
  }

  progress(): { receipts: number; broken: number } {
    return { receipts: this.receiptCount, broken: this.broken };
  }

  collect(acks: Array<[string, number]>): CollectReply {
    const ackAt = new Map(acks.map(([revision, at]) => [Number(revision), at]));
    const latencies: number[] = [];
    const completeNs = new Float64Array(this.streams.length);
    this.streams.forEach((stream, s) => {
      let matched = 0;
      let latest = 0;
      for (let i = 0; i < stream.revisions.length; i++) {
        const ack = ackAt.get(stream.revisions[i]);
        if (ack === undefined) continue;
        matched++;
        latest = Math.max(latest, stream.at[i]);
        latencies.push((stream.at[i] - ack) / 1e6);
      }
      completeNs[s] = matched === ackAt.size ? latest : Infinity;
      // What a phase received is collected once; the next phase starts afresh.
      stream.revisions = [];
      stream.at = [];
    });
    const reply: CollectReply = {
      latenciesMs: Float64Array.from(latencies),
      completeNs,
      expected: acks.length * this.streams.length,
      duplicates: this.duplicates,
      broken: this.broken,
      mergedMessages: this.mergedMessages,
      continuedMessages: this.continuedMessages,
      changeMessages: this.changeMessages,
      failures: this.failures,
    };
    this.duplicates = this.broken = this.mergedMessages = this.continuedMessages = this.changeMessages = 0;
    this.failures = {};
    return reply;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.closers.map((close) => close()));
  }
}

const changeVersion = (change: TabletChange): string => change.version;
const putRevision = (event: IWatchResponse['events'][number]): string | undefined => (event.type === 'Put' ? event.kv.mod_revision : undefined);

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
