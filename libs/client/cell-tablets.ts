import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Tablet } from '../proto';
import {
  WatchMessageKind,
  type CellTopoServiceClient,
  type TabletChange,
  type WatchTabletsResponse,
} from '../proto/gen/topo/cell/v1/cell';
import { Backoff } from './backoff';

export interface TabletEntry {
  /** The record; undefined while only the liveness is known (the record has not arrived). */
  tablet: Tablet | undefined;
  alive: boolean;
  version: bigint;
}

export interface CellTabletsStats {
  /** Transactions applied, each exactly once (a message may carry several). */
  appliedBatches: number;
  /** Batches at or below the applied revision, ignored (a correct server sends none). */
  duplicateBatches: number;
  /** Full re-lists: the first snapshot and every OUT_OF_RANGE recovery. */
  snapshots: number;
  resyncBatches: number;
  reconnects: number;
}

/**
 * One cell's tablets as a router sees them: a WatchTablets stream applied to a local map.
 * It keeps the map while the cell is unreachable, resumes from the last applied revision on
 * reconnect (exactly the missed changes), and re-lists when told the revision is too old.
 */
export class CellTablets {
  readonly tablets = new Map<string, TabletEntry>();
  readonly stats: CellTabletsStats = { appliedBatches: 0, duplicateBatches: 0, snapshots: 0, resyncBatches: 0, reconnects: 0 };
  private revision = 0n;
  private synced = false;
  private pending: Map<string, TabletEntry> | undefined;
  /** Parts of a transaction too large for one message, until its last part. */
  private partial: TabletChange[] = [];
  /** Set while the cell's topology service says it cannot reach its backend. */
  private backendUnreachableSince: number | undefined;
  private stream: ClientReadableStream<WatchTabletsResponse> | undefined;
  private closed = false;
  private connectedSince = 0;
  private lastContact = 0;
  private readonly backoff: Backoff;
  private readonly readyWaiters: Array<() => void> = [];

  constructor(
    readonly cell: string,
    private readonly client: CellTopoServiceClient,
    private readonly onChange: (cell: string, changes: Array<{ alias: string; entry: TabletEntry | undefined }>) => void,
    backoff?: { minMs?: number; maxMs?: number },
  ) {
    this.backoff = new Backoff(backoff?.minMs ?? 100, backoff?.maxMs ?? 5000);
    this.connect();
  }

  /** The revision the local view is at. */
  get appliedRevision(): bigint {
    return this.revision;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /**
   * 0 while the view is live; otherwise how long it may have been stale: since the cell
   * last answered, or, while it answers but says it cannot reach its backend, since then.
   */
  get staleForMs(): number {
    if (this.stream && this.connectedSince > 0) {
      return this.backendUnreachableSince === undefined ? 0 : Math.max(1, Date.now() - this.backendUnreachableSince);
    }
    return this.lastContact === 0 ? Number.POSITIVE_INFINITY : Date.now() - this.lastContact;
  }

  /** Since when the cell's topology service has said it cannot reach its backend, if it does. */
  get backendUnreachable(): Date | undefined {
    return this.backendUnreachableSince === undefined ? undefined : new Date(this.backendUnreachableSince);
  }

  ready(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
  }

  private connect(): void {
    if (this.closed) return;
    const fromRevision = this.synced ? (this.revision + 1n).toString() : '0';
    let stream: ClientReadableStream<WatchTabletsResponse>;
    try {
      stream = this.client.watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision }, new Metadata());
    } catch {
      // The client was closed under the view: nothing can reconnect it.
      this.closed = true;
      return;
    }
    this.stream = stream;
    this.connectedSince = 0;
    this.partial = [];
    this.backendUnreachableSince = undefined;
    stream.on('data', (message: WatchTabletsResponse) => {
      this.connectedSince ||= Date.now();
      this.lastContact = Date.now();
      this.backoff.reset();
      this.apply(message);
    });
    stream.on('error', (err: ServiceError) => this.broken(stream, err));
    stream.on('end', () => this.broken(stream));
  }

  private broken(stream: ClientReadableStream<WatchTabletsResponse>, err?: ServiceError): void {
    if (this.closed || stream !== this.stream) return;
    this.stream = undefined;
    this.connectedSince = 0;
    if (err?.code === status.OUT_OF_RANGE) this.synced = false;
    this.stats.reconnects++;
    setTimeout(() => this.connect(), this.backoff.next()).unref();
  }

  private apply(message: WatchTabletsResponse): void {
    const revision = BigInt(message.revision);
    switch (message.kind) {
      case WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT:
        this.pending ??= new Map();
        for (const change of message.changes) {
          if (!change.removed) this.pending.set(change.alias, merged(this.pending.get(change.alias), change));
        }
        return;
      case WatchMessageKind.WATCH_MESSAGE_KIND_MARKER: {
        const next = this.pending ?? new Map<string, TabletEntry>();
        this.pending = undefined;
        const changed: Array<{ alias: string; entry: TabletEntry | undefined }> = [];
        for (const [alias] of this.tablets) if (!next.has(alias)) changed.push({ alias, entry: undefined });
        for (const [alias, entry] of next) changed.push({ alias, entry });
        this.tablets.clear();
        for (const [alias, entry] of next) this.tablets.set(alias, entry);
        this.revision = revision;
        this.synced = true;
        this.stats.snapshots++;
        for (const resolve of this.readyWaiters.splice(0)) resolve();
        this.onChange(this.cell, changed);
        return;
      }
      case WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES: {
        if (revision <= this.revision) {
          this.stats.duplicateBatches++;
          return;
        }
        // A transaction larger than one message comes in parts: applied together, at its end.
        if (message.continued) {
          this.partial.push(...message.changes);
          return;
        }
        const changes = this.partial.length > 0 ? [...this.partial.splice(0), ...message.changes] : message.changes;
        const changed: Array<{ alias: string; entry: TabletEntry | undefined }> = [];
        for (const change of changes) {
          if (change.removed) {
            this.tablets.delete(change.alias);
            changed.push({ alias: change.alias, entry: undefined });
          } else {
            const entry = merged(this.tablets.get(change.alias), change);
            this.tablets.set(change.alias, entry);
            changed.push({ alias: change.alias, entry });
          }
        }
        this.revision = revision;
        this.stats.appliedBatches += Math.max(1, message.transactions);
        if (message.resync) this.stats.resyncBatches++;
        this.onChange(this.cell, changed);
        return;
      }
      case WatchMessageKind.WATCH_MESSAGE_KIND_STATUS:
        this.backendUnreachableSince = message.backend?.reachable === false ? (message.backend.unreachableSince?.getTime() ?? Date.now()) : undefined;
        if (revision > this.revision && this.synced) this.revision = revision;
        return;
      case WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK:
        if (revision > this.revision) this.revision = revision;
        return;
      default:
        return;
    }
  }
}

/** A tablet's entry after a change: the record and the liveness each replaced only when given. */
function merged(current: TabletEntry | undefined, change: TabletChange): TabletEntry {
  return {
    tablet: change.tablet ?? current?.tablet,
    alive: change.alive ?? current?.alive ?? false,
    version: BigInt(change.version) > (current?.version ?? 0n) ? BigInt(change.version) : (current?.version ?? 0n),
  };
}
