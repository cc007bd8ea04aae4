import { setMaxListeners } from 'node:events';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { readDescriptorSet } from '../proto';
import { TopoError, TopoErrorCode, type Store } from '../store';
import type { ServerConfig } from './config';
import type { CallTracker } from './handlers';
import { HEALTH_SERVICE_NAME, HealthService, addHealth, ServingStatus } from './health';
import { errorFields, type Logger } from './logger';
import { acceptFramed, grpcInternals } from './grpc-frames';
import type { Observability } from './observability';
import { addReflection } from './reflection';
import { Authorizer, PolicyFile, authorizationInterceptor, storeLookups } from './authz';
import { ReloadingServerCredentials } from './tls';

export interface ServiceRegistration {
  /** Fully qualified name, e.g. topo.global.v1.GlobalTopoService. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface TopoServerOptions {
  config: ServerConfig;
  store: Store;
  log: Logger;
  services: (tracker: CallTracker) => ServiceRegistration[];
  /** How often etcd reachability is probed for the health service. */
  healthProbeIntervalMs?: number;
  /** Metrics, traces and the HTTP port; its interceptors run on every RPC. */
  observability?: Observability;
  /** How often TLS files are checked for changes; default 1 s. */
  tlsReloadIntervalMs?: number;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

// Long-lived watch and lock streams: ping idle connections so dead peers are noticed, and
// let clients ping as often as every 10 s. No max connection age: it would cut watches.
const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
};

const PROBE_PATH = 'internal/health_probe';

/**
 * A health entry of its own for writes: NOT_SERVING while the backend refuses them (etcd's
 * NOSPACE alarm). The server as a whole stays SERVING then, since reads, watches, deletes
 * and unregistering (what frees space) still work and routers must keep their streams.
 */
export const WRITES_HEALTH_SERVICE = 'topo.writes';

/**
 * A health-service name that is SERVING for as long as the process answers gRPC, whatever
 * its backend: for liveness probes, which must not restart a server because etcd is down.
 */
export const LIVENESS_SERVICE = 'liveness';

/**
 * What both services share: the gRPC server with health and reflection, a probe that
 * reports NOT_SERVING while the store is unreachable, and an orderly shutdown that ends
 * streams and releases what the server holds in etcd.
 */
export class TopoServer implements CallTracker {
  readonly health = new HealthService();
  private readonly shutdownController = new AbortController();
  private readonly cleanups: Array<() => Promise<void>> = [];
  private readonly readinessChecks: Array<() => string | undefined> = [];
  private readonly reachabilityListeners: Array<(reachable: boolean) => void> = [];
  private storeReachable = true;
  private notReadyReason: string | undefined;
  private alarms: string[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private serviceNames: string[] = [];
  private healthServer: Server | undefined;
  /** The port of the plaintext health-only listener (`--health-listen`), when there is one. */
  healthPort: number | undefined;

  private constructor(
    private readonly server: Server,
    private readonly tlsCredentials: ReloadingServerCredentials | undefined,
    readonly port: number,
    readonly store: Store,
    readonly log: Logger,
    private readonly config: ServerConfig,
    readonly observability: Observability | undefined,
  ) {
    // Every open stream listens for shutdown: thousands of listeners are expected.
    setMaxListeners(0, this.shutdownController.signal);
  }

  get shuttingDown(): AbortSignal {
    return this.shutdownController.signal;
  }

  static async start(options: TopoServerOptions): Promise<TopoServer> {
    const observability = options.observability;
    const policy = options.config.authzPolicy !== undefined ? new PolicyFile(options.config.authzPolicy, options.log) : undefined;
    if (!policy) {
      options.log.warn(
        options.config.tls?.ca
          ? 'no --authz-policy: every caller with a certificate the CA signed may read and write everything'
          : 'no --authz-policy: every caller may read and write everything (docs/security.md)',
      );
    }
    const authorizer = new Authorizer({
      policy: () => policy?.policy,
      lookups: storeLookups(options.store),
      cell: options.config.extra.cell,
    });
    const server = new Server({ ...CHANNEL_OPTIONS, interceptors: [...(observability?.serverInterceptors() ?? []), authorizationInterceptor(authorizer, options.log)] });
    // With TLS flags the one gRPC port speaks only TLS: a plaintext client fails its handshake.
    const tls = options.config.tls ? new ReloadingServerCredentials(options.config.tls, options.log, options.tlsReloadIntervalMs) : undefined;
    if (!tls) options.log.warn('plaintext gRPC: no --grpc-cert/--grpc-key, every caller is trusted (docs/security.md)');
    const port = await bind(server, options.config.listen, tls ?? ServerCredentials.createInsecure()).catch((err: unknown) => {
      tls?.close();
      policy?.close();
      throw err;
    });
    const topo = new TopoServer(server, tls, port, options.store, options.log, options.config, observability);
    observability?.reportServing(() => String(ServingStatus[topo.health.status('') ?? ServingStatus.UNKNOWN] ?? 'UNKNOWN'));
    if (policy) topo.onShutdown(async () => policy.close());
    const services = options.services(topo);
    for (const service of services) server.addService(acceptFramed(service.definition), service.implementation);
    const internals = grpcInternals();
    if (!internals.available) {
      options.log.warn('watch streams write through the public grpc-js path (slower)', { reason: internals.reason });
    }
    topo.serviceNames = services.map((s) => s.name);
    topo.health.setStatus(LIVENESS_SERVICE, ServingStatus.SERVING);
    addHealth(server, topo.health);
    if (options.config.healthListen !== undefined) {
      // Kubernetes probes cannot present a client certificate: they get health and nothing else.
      topo.healthServer = new Server();
      addHealth(topo.healthServer, topo.health);
      // Reflection of the health service alone, so grpcurl can call it there too.
      addReflection(topo.healthServer, { services: [HEALTH_SERVICE_NAME], descriptorSet: readDescriptorSet() });
      topo.healthPort = await bind(topo.healthServer, options.config.healthListen, ServerCredentials.createInsecure());
    }
    addReflection(server, {
      services: [...topo.serviceNames, HEALTH_SERVICE_NAME],
      descriptorSet: readDescriptorSet(),
    });
    await topo.probe();
    topo.scheduleProbe(options.healthProbeIntervalMs ?? 1000);
    const httpPort = options.config.httpListen ? await observability?.listen(options.config.httpListen, options.log) : undefined;
    options.log.info('serving', {
      listen: options.config.listen,
      port,
      tls: tls ? (options.config.tls?.ca ? 'mtls' : 'tls') : 'plaintext',
      ...(topo.healthPort !== undefined ? { healthPort: topo.healthPort } : {}),
      ...(httpPort !== undefined ? { httpListen: options.config.httpListen, httpPort } : {}),
      backend: options.store.backend,
      root: options.store.root,
      services: topo.serviceNames,
    });
    return topo;
  }

  /** Alarms the backend reported at the last probe (e.g. NOSPACE): why writes are refused. */
  get backendAlarms(): readonly string[] {
    return this.alarms;
  }

  addReadinessCheck(check: () => string | undefined): void {
    this.readinessChecks.push(check);
  }

  onStoreReachability(listener: (reachable: boolean) => void): void {
    this.reachabilityListeners.push(listener);
  }

  /** Runs at shutdown, before the store closes: release leases, end campaigns. */
  onShutdown(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /**
   * Stops accepting calls, reports NOT_SERVING, ends open streams (their handlers see the
   * shutdown signal and release locks and campaigns), waits up to the grace period for
   * calls in flight, then closes the store.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('shutting down', { graceMs: this.config.shutdownGraceMs });
      if (this.probeTimer) clearTimeout(this.probeTimer);
      this.health.shutdown();
      this.shutdownController.abort(new TopoError(TopoErrorCode.Unavailable, 'server shutting down'));
      await Promise.allSettled(this.cleanups.map((cleanup) => cleanup()));
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          this.server.forceShutdown();
          resolve();
        }, this.config.shutdownGraceMs);
        this.server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      this.healthServer?.forceShutdown();
      this.tlsCredentials?.close();
      await this.store.close();
      await this.observability?.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }

  private scheduleProbe(intervalMs: number): void {
    this.probeTimer = setTimeout(() => {
      void this.probe().finally(() => {
        if (!this.shuttingDown.aborted) this.scheduleProbe(intervalMs);
      });
    }, intervalMs);
    this.probeTimer.unref();
  }

  /**
   * Any answer from the store, NoNode included, means it is reachable. Backend alarms turn
   * the writes entry NOT_SERVING and are logged when raised and when cleared.
   */
  private async probe(): Promise<void> {
    let serving = true;
    let alarms = this.alarms;
    const [read, alarmList] = await Promise.allSettled([this.store.get(PROBE_PATH), this.store.alarms()]);
    if (read.status === 'rejected' && !TopoError.is(read.reason, TopoErrorCode.NoNode)) {
      serving = false;
      if (this.health.status('') === ServingStatus.SERVING) {
        this.log.warn('store unreachable: NOT_SERVING', errorFields(read.reason));
      }
    }
    if (alarmList.status === 'fulfilled') alarms = alarmList.value;
    if (this.shuttingDown.aborted) return;
    if (serving !== this.storeReachable) {
      this.storeReachable = serving;
      for (const listener of this.reachabilityListeners) listener(serving);
    }
    if (alarms.join('\n') !== this.alarms.join('\n')) {
      if (alarms.length > 0) this.log.warn('backend alarm: writes refused, topo.writes NOT_SERVING', { alarms });
      else this.log.info('backend alarms cleared: writes accepted again', { cleared: this.alarms });
      this.alarms = alarms;
    }
    this.observability?.backend.setReachable(serving);
    this.observability?.backend.setAlarms(this.alarms);
    const reason = this.readinessChecks.map((check) => check()).find((r) => r !== undefined);
    if (reason !== this.notReadyReason) {
      if (reason) this.log.info('not ready: NOT_SERVING', { reason });
      this.notReadyReason = reason;
    }
    serving &&= reason === undefined;
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    if (serving && this.health.status('') === ServingStatus.NOT_SERVING) this.log.info('store reachable again: SERVING');
    for (const name of ['', ...this.serviceNames]) this.health.setStatus(name, status);
    const writable = serving && this.alarms.length === 0;
    this.health.setStatus(WRITES_HEALTH_SERVICE, writable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }
}
