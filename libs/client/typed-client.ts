import { Metadata, status, type ChannelOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import { CellTopoServiceClient, type CellTopoServiceClient as CellClient } from '../proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient, type GlobalTopoServiceClient as GlobalClient } from '../proto/gen/topo/global/v1/global';
import { Backoff, sleep } from './backoff';
import { channelCredentials, tlsChannelOptions, type ClientTlsFiles } from './channel-credentials';
import { traceContextInterceptor } from './trace-context';

/** The promise form of a generated client's unary methods: `(request) => Promise<response>`. */
export type Promised<C> = {
  [K in keyof C as C[K] extends (request: infer _R, metadata: Metadata, options: never, callback: never) => unknown ? K : never]: C[K] extends (
    request: infer Req,
    metadata: Metadata,
    options: never,
    callback: (err: ServiceError | null, response: infer Res) => void,
  ) => unknown
    ? (request: Req) => Promise<Res>
    : never;
};

export interface TypedClientOptions {
  /** Deadline of every call. */
  deadlineMs?: number;
  /** Attempts for reads that fail with UNAVAILABLE; writes are never retried. */
  readAttempts?: number;
  /** TLS files; unset: plaintext. */
  tls?: ClientTlsFiles;
}

// Reads change nothing, so repeating one after UNAVAILABLE is safe. A write that failed
// with UNAVAILABLE may have been applied; repeating it could apply it twice.
const SAFE_TO_RETRY = /^(get|list)/;

const CHANNEL: ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

function promised<C extends Client>(client: C, options: TypedClientOptions): Promised<C> & { close(): void } {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const attempts = options.readAttempts ?? 3;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'close' || typeof property !== 'string' || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const method = value as (req: unknown, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: unknown) => void) => unknown;
      return async (request: unknown) => {
        const backoff = new Backoff(50, 1000);
        for (let attempt = 1; ; attempt++) {
          try {
            return await new Promise((resolve, reject) =>
              method.call(target, request, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) =>
                err ? reject(err) : resolve(res),
              ),
            );
          } catch (err) {
            const retry = SAFE_TO_RETRY.test(property) && (err as ServiceError).code === status.UNAVAILABLE && attempt < attempts;
            if (!retry) throw err;
            await sleep(backoff.next());
          }
        }
      };
    },
  }) as unknown as Promised<C> & { close(): void };
}

/** global-topo's API with promises, a deadline on every call, and retries only for reads. */
export function globalTopoClient(address: string, options: TypedClientOptions = {}): Promised<GlobalClient> & { close(): void } {
  return promised(new GlobalTopoServiceClient(address, channelCredentials(options.tls), { ...CHANNEL, ...tlsChannelOptions(options.tls), interceptors: [traceContextInterceptor] }), options);
}

/** A cell-topo's unary API with promises, a deadline on every call, and retries only for reads. */
export function cellTopoClient(address: string, options: TypedClientOptions = {}): Promised<CellClient> & { close(): void } {
  return promised(new CellTopoServiceClient(address, channelCredentials(options.tls), { ...CHANNEL, ...tlsChannelOptions(options.tls), interceptors: [traceContextInterceptor] }), options);
}
