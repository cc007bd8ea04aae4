import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { SrvKeyspace } from '../proto';
import { WatchMessageKind, type CellTopoServiceClient, type WatchSrvKeyspaceResponse } from '../proto/gen/topo/cell/v1/cell';
import { Backoff } from './backoff';

/**
 * One keyspace's serving graph in one cell, as a router holds it: the last SrvKeyspace
 * received, kept while the cell is unreachable, resumed from its revision on reconnect.
 */
export class SrvKeyspaceWatch {
  value: SrvKeyspace | undefined;
  private revision = 0n;
  private synced = false;
  private stream: ClientReadableStream<WatchSrvKeyspaceResponse> | undefined;
  private closed = false;
  private readonly backoff: Backoff;

  constructor(
    readonly cell: string,
    readonly keyspace: string,
    private readonly client: CellTopoServiceClient,
    private readonly onChange: (watch: SrvKeyspaceWatch) => void,
    backoff?: { minMs?: number; maxMs?: number },
  ) {
    this.backoff = new Backoff(backoff?.minMs ?? 100, backoff?.maxMs ?? 5000);
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
  }

  private connect(): void {
    if (this.closed) return;
    const fromRevision = this.synced ? (this.revision + 1n).toString() : '0';
    const stream = this.client.watchSrvKeyspace({ keyspace: this.keyspace, fromRevision }, new Metadata());
    this.stream = stream;
    stream.on('data', (message: WatchSrvKeyspaceResponse) => {
      this.backoff.reset();
      const revision = BigInt(message.revision);
      if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT || message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) {
        if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES && revision <= this.revision) return;
        this.value = message.removed ? undefined : message.srvKeyspace;
        this.onChange(this);
      }
      if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_MARKER) this.synced = true;
      if (revision > this.revision) this.revision = revision;
    });
    const broken = (err?: ServiceError): void => {
      if (this.closed || stream !== this.stream) return;
      this.stream = undefined;
      if (err?.code === status.OUT_OF_RANGE) this.synced = false;
      setTimeout(() => this.connect(), this.backoff.next()).unref();
    };
    stream.on('error', broken);
    stream.on('end', () => broken());
  }
}
