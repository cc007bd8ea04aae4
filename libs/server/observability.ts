import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServerInterceptor } from '@grpc/grpc-js';
import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { interceptStore, type KvEngine, type Store, type StoreInterceptor } from '../store';
import type { WatchHubOptions, WatchHubStats } from '../watch';
import type { ServerConfig } from './config';
import { HttpServer } from './http/http-server';
import type { StatusReport, StatusTable } from './http/status-page';
import type { Logger } from './logger';
import { BackendHealth } from './metrics/backend-health';
import { dispatchHistogram, registerHubMetrics } from './metrics/hub-metrics';
import { rpcMetricsInterceptor } from './metrics/rpc-metrics';
import { storeMetrics } from './metrics/store-metrics';
import { tracedEngine } from './tracing/engine-tracing';
import { rpcTracingInterceptor } from './tracing/rpc-tracing';
import { storeTracingInterceptor } from './tracing/store-tracing';
import { tracingRequested } from './tracing/tracing-env';
import type { TracingSdk } from './tracing/tracing-sdk';

/** The project's version, from its package.json above this file (source tree or compiled dist/). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'topo' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
const VERSION = packageVersion();

export interface ObservabilityOptions {
  /** The program, e.g. global-topo: the status page title and the traces' service.name. */
  service: string;
  /** 'global' for global-topo, the cell name for cell-topo: the `cell` label of store metrics. */
  cell: string;
  config: ServerConfig;
  /**
   * Traces go to this provider. Unset: to the SDK when the standard OTel environment asks
   * for it, else nowhere (no tracing interceptor is installed at all).
   */
  tracerProvider?: TracerProvider;
  env?: NodeJS.ProcessEnv;
}

/** A section of /debug/status a service adds: its own tables, read when the page is. */
export type StatusSource = () => Promise<StatusTable[]>;

/**
 * Metrics, traces and the status page of one server, composed once: the gRPC interceptors
 * and the store decorator it hands out are the only way these concerns reach calls.
 */
export class Observability {
  readonly registry = new Registry();
  readonly backend: BackendHealth;
  readonly tracer: Tracer | undefined;
  private readonly sdk: TracingSdk | undefined;
  private readonly sources: Array<{ name: string; read: StatusSource }> = [];
  private readonly startedAt = new Date();
  private serving: () => string = () => 'UNKNOWN';
  private http: HttpServer | undefined;

  constructor(private readonly options: ObservabilityOptions) {
    collectDefaultMetrics({ register: this.registry });
    this.backend = new BackendHealth(options.config.backend, options.config.etcdEndpoints);
    this.backend.register(this.registry);
    const env = options.env ?? process.env;
    if (options.tracerProvider) {
      this.tracer = options.tracerProvider.getTracer('topo', VERSION);
    } else if (tracingRequested(env)) {
      // Loaded only when asked for: a process without tracing never loads the SDK.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startTracingSdk } = require('./tracing/tracing-sdk') as typeof import('./tracing/tracing-sdk');
      this.sdk = startTracingSdk(options.service, VERSION, env);
      this.tracer = trace.getTracer('topo', VERSION);
    }
  }

  /** Metrics first (outermost), so an RPC's latency includes its tracing. */
  serverInterceptors(): ServerInterceptor[] {
    return [rpcMetricsInterceptor(this.registry), ...(this.tracer ? [rpcTracingInterceptor(this.tracer)] : [])];
  }

  /** The store every handler of this server uses: counted, and traced when tracing is on. */
  instrumentStore(store: Store): Store {
    const metrics = storeMetrics(this.registry, this.options.cell);
    const calls: StoreInterceptor[] = [...metrics.calls];
    if (this.tracer) calls.push(storeTracingInterceptor(this.tracer, store.backend, store.root));
    return interceptStore(store, { calls, participations: metrics.participations });
  }

  /** For openStore's wrapEngine: a span per backend request when tracing is on. */
  readonly wrapEngine = (engine: KvEngine): KvEngine => (this.tracer ? tracedEngine(engine, this.tracer) : engine);

  watchHub(stats: () => WatchHubStats): void {
    registerHubMetrics(this.registry, stats);
  }

  /**
   * Hub options that feed the dispatch histogram: the time from a batch's arrival from the
   * backend to the end of the loop that wrote it to every stream. Pass them when building
   * the hub.
   */
  hubOptions(): Pick<WatchHubOptions, 'onDispatch'> {
    const histogram = dispatchHistogram(this.registry);
    return { onDispatch: (latencyMs) => histogram.observe(latencyMs / 1000) };
  }

  addStatus(name: string, read: StatusSource): void {
    this.sources.push({ name, read });
  }

  /** Set by the server: its health status, shown on the status page. */
  reportServing(serving: () => string): void {
    this.serving = serving;
  }

  async status(): Promise<StatusReport> {
    const errors: string[] = [];
    const sections = await Promise.all(
      this.sources.map(async (source) => {
        try {
          return await source.read();
        } catch (err) {
          errors.push(`${source.name}: ${(err as Error).message}`);
          return [];
        }
      }),
    );
    return {
      service: this.options.service,
      version: VERSION,
      node: process.versions.node,
      pid: process.pid,
      startedAt: this.startedAt,
      flags: flagsOf(this.options.config),
      backend: this.backend.view(),
      serving: this.serving(),
      tables: sections.flat(),
      errors,
    };
  }

  /** Serves /metrics and /debug/status on `listen`; resolves to the bound port. */
  async listen(listen: string, log: Logger): Promise<number> {
    this.http = await HttpServer.start(listen, { registry: this.registry, status: () => this.status(), log });
    return this.http.port;
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  async close(): Promise<void> {
    await this.http?.close();
    await this.sdk?.shutdown();
  }
}

function flagsOf(config: ServerConfig): Record<string, string> {
  const flags: Record<string, string> = {
    listen: config.listen,
    'http-listen': config.httpListen ?? '',
    backend: config.backend,
    'etcd-endpoints': config.etcdEndpoints.join(','),
    root: config.root,
    'lock-ttl': String(config.lockTtlSeconds),
    'request-timeout': String(config.requestTimeoutMs),
    'shutdown-grace': String(config.shutdownGraceMs),
    'log-level': config.logLevel,
  };
  for (const [name, value] of Object.entries(config.extra)) flags[name] = value ?? '';
  return flags;
}
