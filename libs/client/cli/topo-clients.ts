import {
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { CellTopoServiceClient } from '../../proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient } from '../../proto/gen/topo/global/v1/global';
import { PathServiceClient } from '../../proto/gen/topo/path/v1/path';
import { channelCredentials } from '../channel-credentials';
import { UsageError } from './command';
import type { Settings } from './global-options';

/** A generated grpc-js unary method, bound to its client. */
export type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Keepalive as the SDK's router view uses it, so a watch notices a silently dead peer; and a
 * reconnect backoff capped at 5 s rather than grpc-js's 2 minutes, so a watch is back soon
 * after its cell-topo is.
 */
const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

interface Closable {
  close(): void;
}

/**
 * The connections one topoctl run needs, opened on first use and closed together. A cell
 * is reached at --cell-address, or where global-topo's CellInfo says its cell-topo serves.
 */
export class TopoClients {
  private readonly clients = new Map<string, Closable>();
  private readonly cellAddresses = new Map<string, Promise<string>>();
  private channelCredentials: ChannelCredentials | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly signal: AbortSignal,
  ) {}

  get global(): GlobalTopoServiceClient {
    return this.client('global', this.settings.globalAddress, GlobalTopoServiceClient);
  }

  path(address: string): PathServiceClient {
    return this.client('path', address, PathServiceClient);
  }

  cellTopo(address: string): CellTopoServiceClient {
    return this.client('cell', address, CellTopoServiceClient);
  }

  health(address: string): HealthClient {
    return this.client('health', address, HealthClient);
  }

  /** The cell-topo address of `cell` (or of --cell); --cell-address wins when given. */
  cellAddress(cell = this.settings.cell): Promise<string> {
    if (this.settings.cellAddress !== undefined) return Promise.resolve(this.settings.cellAddress);
    if (cell === undefined) return Promise.reject(new UsageError('this command needs --cell NAME or --cell-address host:port'));
    let address = this.cellAddresses.get(cell);
    if (!address) {
      const g = this.global;
      address = this.call(g.getCellInfo.bind(g), { name: cell }).then((res) => {
        const found = res.cellInfo?.serverAddress ?? '';
        if (found === '') throw new Error(`cell ${JSON.stringify(cell)} has no server address in its CellInfo`);
        return found;
      });
      this.cellAddresses.set(cell, address);
    }
    return address;
  }

  /** Every cell's name, from global-topo. */
  async cells(): Promise<string[]> {
    const g = this.global;
    return (await this.call(g.listCellInfos.bind(g), {})).names;
  }

  /** A unary call with the --timeout deadline (or `timeoutMs`), cancelled when the run is stopped. */
  call<Req, Res>(method: Unary<Req, Res>, request: Req, timeoutMs = this.settings.timeoutMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = method(request, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        this.signal.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res);
      });
      function cancel(): void {
        call.cancel();
      }
      if (this.signal.aborted) call.cancel();
      else this.signal.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client<C extends Closable>(
    kind: string,
    address: string,
    Client: new (address: string, creds: ChannelCredentials, options: ClientOptions) => C,
  ): C {
    const key = `${kind} ${address}`;
    let client = this.clients.get(key) as C | undefined;
    if (!client) {
      this.channelCredentials ??= channelCredentials(this.settings.tls);
      client = new Client(address, this.channelCredentials, CHANNEL_OPTIONS);
      this.clients.set(key, client);
    }
    return client;
  }
}
