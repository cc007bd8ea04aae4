import {
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
  type HealthServer,
} from '../../proto/gen/grpc/health/v1/health';

export { ServingStatus };

/** The service name that stands for the whole server. */
export const OVERALL = '';

/** `List` refuses beyond this many services, as the health proto specifies. */
export const LIST_LIMIT = 100;

type Listener = (status: ServingStatus) => void;

/**
 * The serving status of each service (`''` for the server as a whole) and the standard
 * `grpc.health.v1.Health` handlers over it. Load balancers and Kubernetes probes read it;
 * the server flips it to NOT_SERVING while its backend is unreachable.
 */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Open Watch streams, each with the function that flushes and ends it. */
  private readonly watches = new Set<() => void>();
  private shutDown = false;

  /** Starts with the whole server SERVING, as grpc-go's health server does. */
  constructor(initial: Record<string, ServingStatus> = { [OVERALL]: ServingStatus.SERVING }) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  /** Sets a service's status and tells its watchers. Ignored after `shutdown()`. */
  setStatus(service: string, status: ServingStatus): void {
    if (this.shutDown || this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const listener of this.listeners.get(service) ?? []) listener(status);
  }

  /** The status of a service, or undefined when it has none. */
  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /**
   * Marks every service NOT_SERVING for good and ends every Watch stream after telling
   * it, so that a graceful server shutdown is not held open by health watchers.
   */
  shutdown(): void {
    for (const service of this.statuses.keys()) this.setStatus(service, ServingStatus.NOT_SERVING);
    this.shutDown = true;
    for (const finish of [...this.watches]) finish();
  }

  /** Open Watch streams, for metrics. */
  get watchCount(): number {
    return this.watches.size;
  }

  /** The handler object for `server.addService(HealthService definition, ...)`. */
  readonly implementation: HealthServer = {
    check: (call, callback) => this.check(call, callback),
    list: (call, callback) => this.list(call, callback),
    watch: (call) => this.watch(call),
  };

  private check(
    call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
    callback: sendUnaryData<HealthCheckResponse>,
  ): void {
    const status = this.statuses.get(call.request.service);
    if (status === undefined) {
      callback({ code: grpcStatus.NOT_FOUND, details: `unknown service: ${call.request.service}` });
      return;
    }
    callback(null, { status });
  }

  private list(
    _call: ServerUnaryCall<HealthListRequest, HealthListResponse>,
    callback: sendUnaryData<HealthListResponse>,
  ): void {
    if (this.statuses.size > LIST_LIMIT) {
      callback({
        code: grpcStatus.RESOURCE_EXHAUSTED,
        details: `${this.statuses.size} services, more than the ${LIST_LIMIT} List returns`,
      });
      return;
    }
    const statuses: HealthListResponse['statuses'] = {};
    for (const [service, status] of this.statuses) statuses[service] = { status };
    callback(null, { statuses });
  }

  private watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
    const service = call.request.service;
    const current = this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
    if (this.shutDown) {
      call.write({ status: current });
      call.end();
      return;
    }

    // Only the latest status matters: while the client is not reading, later changes
    // replace the one waiting, so a stalled watcher holds one status, never a queue.
    let sent: ServingStatus | undefined;
    let waiting: ServingStatus | undefined;
    let blocked = false;
    const send = (status: ServingStatus): void => {
      if (blocked) {
        waiting = status;
        return;
      }
      if (status === sent) return;
      sent = status;
      if (!call.write({ status })) blocked = true;
    };
    const onDrain = (): void => {
      blocked = false;
      const next = waiting;
      waiting = undefined;
      if (next !== undefined) send(next);
    };

    let done = false;
    const stop = (): void => {
      if (done) return;
      done = true;
      this.watches.delete(finish);
      const set = this.listeners.get(service);
      set?.delete(send);
      if (set?.size === 0) this.listeners.delete(service);
    };
    // The last status goes out even past backpressure: it is one message, then the end.
    function finish(): void {
      if (waiting !== undefined && waiting !== sent) call.write({ status: waiting });
      stop();
      call.end();
    }

    let listeners = this.listeners.get(service);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(service, listeners);
    }
    listeners.add(send);
    this.watches.add(finish);
    call.on('drain', onDrain);
    // A client going away shows up as 'cancelled', 'close' or 'error' depending on timing.
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    call.on('finish', stop);

    send(current);
  }
}
