import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { Tablet } from '../proto';
import { CellTopoServiceClient, type RegisterRequest, type RegisterResponse } from '../proto/gen/topo/cell/v1/cell';
import { Backoff, sleep } from './backoff';
import { channelCredentials, tlsChannelOptions, type ClientTlsFiles } from './channel-credentials';

export interface TabletAgentOptions {
  /** The cell-topo of the tablet's cell, host:port. */
  address: string;
  tablet: Tablet;
  /** Liveness lease TTL; the tablet disappears from routers this long after it stops. */
  ttlSeconds?: number;
  /** This process's identity; default hostname, pid and a random suffix. */
  session?: string;
  /** Take the alias over from another live registration. */
  takeover?: boolean;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** TLS files (the tablet's certificate names its alias); unset: plaintext. */
  tls?: ClientTlsFiles;
}

export type TabletAgentEvent =
  | { type: 'registered'; leaseId: string; revision: string; resumed: boolean }
  | { type: 'lease-lost'; leaseId: string }
  | { type: 're-registered'; leaseId: string; revision: string }
  | { type: 'disconnected'; error: string };

/**
 * What a tablet embeds to stay registered in its cell: it registers over a Register
 * stream, heartbeats every third of the TTL, reconnects with jittered exponential backoff
 * when the stream breaks, resumes its lease after a cell-topo restart, registers anew
 * when the lease really ended, and unregisters on stop().
 *
 * Events: 'event' with a TabletAgentEvent, or iterate `events()`.
 */
export class TabletAgent extends EventEmitter {
  readonly session: string;
  private readonly client: CellTopoServiceClient;
  private readonly ttlSeconds: number;
  private readonly backoff: Backoff;
  private readonly stopController = new AbortController();
  private leaseId: string | undefined;
  private stream: ClientDuplexStream<RegisterRequest, RegisterResponse> | undefined;
  private running: Promise<void> | undefined;
  private firstRegistration: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly options: TabletAgentOptions) {
    super();
    this.session = options.session ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.ttlSeconds = options.ttlSeconds ?? 10;
    this.backoff = new Backoff(options.minBackoffMs ?? 100, options.maxBackoffMs ?? 5000);
    this.client = new CellTopoServiceClient(options.address, channelCredentials(options.tls), {
      ...tlsChannelOptions(options.tls),
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  /** The current liveness lease, once registered. */
  get lease(): string | undefined {
    return this.leaseId;
  }

  /** Resolves at the first successful registration; keeps the tablet registered until stop(). */
  start(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => (this.firstRegistration = { resolve, reject }));
    this.running ??= this.run();
    return first;
  }

  /** Unregisters (the tablet leaves routers' view at once) and closes the connection. */
  async stop(): Promise<void> {
    const stream = this.stream;
    this.stopController.abort();
    if (stream) {
      stream.write({ event: { $case: 'unregister', value: {} } });
      stream.end();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        stream.on('status', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.running;
    this.client.close();
  }

  async *events(signal?: AbortSignal): AsyncGenerator<TabletAgentEvent> {
    const queue: TabletAgentEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (event: TabletAgentEvent): void => {
      queue.push(event);
      wake?.();
    };
    this.on('event', onEvent);
    try {
      while (!signal?.aborted && !this.stopController.signal.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal?.addEventListener('abort', () => resolve(), { once: true });
          this.stopController.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        wake = undefined;
      }
    } finally {
      this.off('event', onEvent);
    }
  }

  private emitEvent(event: TabletAgentEvent): void {
    this.emit('event', event);
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      try {
        await this.session_();
      } catch (err) {
        if (stop.aborted) break;
        const message = (err as ServiceError).details ?? (err as Error).message;
        this.emitEvent({ type: 'disconnected', error: message });
        // A refusal (bad tablet, alias held by another live session) will not fix itself.
        const code = (err as ServiceError).code;
        if (this.firstRegistration && (code === 3 || code === 6 || code === 9)) {
          this.firstRegistration.reject(err as Error);
          this.firstRegistration = undefined;
          return;
        }
      }
      await sleep(this.backoff.next(), stop);
    }
  }

  /** One Register stream, from registration to its end. */
  private session_(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stream = this.client.register(new Metadata());
      this.stream = stream;
      let heartbeat: NodeJS.Timeout | undefined;
      let answered = Date.now();
      const heartbeatMs = Math.max(200, (this.ttlSeconds * 1000) / 3);
      const finish = (err?: Error): void => {
        if (heartbeat) clearInterval(heartbeat);
        if (this.stream === stream) this.stream = undefined;
        if (err) reject(err);
        else resolve();
      };
      stream.on('data', (response: RegisterResponse) => {
        answered = Date.now();
        if (response.event?.$case !== 'registered') return;
        const { leaseId, revision } = response.event.value;
        const previous = this.leaseId;
        this.leaseId = leaseId;
        this.backoff.reset();
        if (previous === undefined) {
          this.emitEvent({ type: 'registered', leaseId, revision, resumed: false });
        } else if (previous === leaseId) {
          this.emitEvent({ type: 'registered', leaseId, revision, resumed: true });
        } else {
          this.emitEvent({ type: 'lease-lost', leaseId: previous });
          this.emitEvent({ type: 're-registered', leaseId, revision });
        }
        this.firstRegistration?.resolve();
        this.firstRegistration = undefined;
        heartbeat ??= setInterval(() => {
          // No answer for a whole TTL: the stream is dead even if TCP does not know yet.
          if (Date.now() - answered > this.ttlSeconds * 1000) {
            stream.cancel();
            return;
          }
          stream.write({ event: { $case: 'heartbeat', value: {} } });
        }, heartbeatMs);
      });
      stream.on('error', (err: ServiceError) => finish(err));
      stream.on('end', () => finish());
      stream.write({
        event: {
          $case: 'register',
          value: {
            tablet: this.options.tablet,
            session: this.session,
            ttl: { seconds: String(this.ttlSeconds), nanos: 0 },
            takeover: this.options.takeover ?? false,
            leaseId: this.leaseId ?? '0',
          },
        },
      });
    });
  }
}
