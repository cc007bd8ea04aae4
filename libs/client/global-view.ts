import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { ChangeType, PathServiceClient, type WatchRecursiveResponse } from '../proto/gen/topo/path/v1/path';
import { channelCredentials, tlsChannelOptions, type ClientTlsFiles } from './channel-credentials';

export interface GlobalViewOptions {
  /** global-topo's address, host:port. */
  address: string;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** TLS files; unset: plaintext. */
  tls?: ClientTlsFiles;
}

const KEYSPACE = /^keyspaces\/([^/]+)\/Keyspace$/;
const SHARD = /^keyspaces\/([^/]+)\/shards\/([^/]+)\/Shard$/;

/**
 * A watched local copy of which keyspaces and shards exist in the global topology, read
 * through global-topo's path API (never global etcd). It keeps answering from its last view
 * while global-topo is unreachable, and catches up on reconnect by resuming from its last
 * revision, or by re-listing when that revision is no longer in global-topo's history.
 */
export class GlobalView {
  private readonly client: PathServiceClient;
  private readonly paths = new Set<string>();
  private revision = 0n;
  private synced = false;
  private stream: ClientReadableStream<WatchRecursiveResponse> | undefined;
  private closed = false;
  private backoffMs = 0;
  /** Parts of a message split because it was too large, until its last part. */
  private partial: WatchRecursiveResponse[] = [];
  private readonly readyWaiters: Array<() => void> = [];

  constructor(private readonly options: GlobalViewOptions) {
    this.client = new PathServiceClient(options.address, channelCredentials(options.tls), {
      ...tlsChannelOptions(options.tls),
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.connect();
  }

  /** True once a full view has been received at least once. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first full view has arrived. */
  ready(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  hasKeyspace(keyspace: string): boolean {
    return this.paths.has(`keyspaces/${keyspace}/Keyspace`);
  }

  hasShard(keyspace: string, shard: string): boolean {
    return this.paths.has(`keyspaces/${keyspace}/shards/${shard}/Shard`);
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
    this.client.close();
  }

  private connect(): void {
    if (this.closed) return;
    const resuming = this.synced;
    const stream = this.client.watchRecursive(
      { path: 'keyspaces', fromRevision: resuming ? (this.revision + 1n).toString() : '0' },
      new Metadata(),
    );
    this.stream = stream;
    this.partial = [];
    stream.on('data', (message: WatchRecursiveResponse) => {
      this.backoffMs = 0;
      this.apply(message);
    });
    stream.on('error', (err: ServiceError) => {
      if (this.closed || stream !== this.stream) return;
      if (err.code === status.OUT_OF_RANGE) {
        // Our revision left global-topo's history: take a fresh snapshot.
        this.options.log?.('global view: re-listing', { revision: this.revision.toString() });
        this.synced = false;
      }
      this.retry();
    });
    stream.on('end', () => {
      if (!this.closed && stream === this.stream) this.retry();
    });
  }

  private retry(): void {
    this.stream = undefined;
    this.backoffMs = Math.min(this.options.maxBackoffMs ?? 2000, Math.max(100, this.backoffMs * 2));
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    setTimeout(() => this.connect(), delay).unref();
  }

  private apply(message: WatchRecursiveResponse): void {
    // A snapshot, or a transaction too large for one message, comes in parts: applied at its last.
    if (message.continued) {
      this.partial.push(message);
      return;
    }
    const parts = this.partial.length > 0 ? [...this.partial.splice(0), message] : [message];
    const snapshot = parts[0].snapshot;
    if (snapshot) this.paths.clear();
    for (const part of parts) {
      for (const change of part.changes) {
        if (!KEYSPACE.test(change.path) && !SHARD.test(change.path)) continue;
        if (change.type === ChangeType.CHANGE_TYPE_DELETE) this.paths.delete(change.path);
        else this.paths.add(change.path);
      }
    }
    this.revision = BigInt(message.revision);
    if (snapshot) {
      this.synced = true;
      for (const resolve of this.readyWaiters.splice(0)) resolve();
    }
  }
}
