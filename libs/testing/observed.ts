import type { TracerProvider } from '@opentelemetry/api';
import { Logger, Observability, TopoServer, type CallTracker, type ServerConfig, type ServiceRegistration } from '../server';
import { openStore, type Store } from '../store';

export interface ObservedServer {
  server: TopoServer;
  observability: Observability;
  /** The instrumented store, as handlers see it. */
  store: Store;
  address: string;
  httpBase: string;
  stop(): Promise<void>;
}

/**
 * A server wired as main wires it (instrumented store, interceptors, HTTP port on a free
 * loopback port), for tests of metrics, traces and the status page.
 */
export async function startObserved(options: {
  program: string;
  cell: string;
  backend?: 'etcd' | 'memory';
  endpoints?: string[];
  root: string;
  extra?: Record<string, string>;
  tracerProvider?: TracerProvider;
  services: (store: Store, tracker: CallTracker, observability: Observability) => ServiceRegistration[];
}): Promise<ObservedServer> {
  const backend = options.backend ?? 'memory';
  const config: ServerConfig = {
    listen: '127.0.0.1:0',
    httpListen: '127.0.0.1:0',
    backend,
    etcdEndpoints: options.endpoints ?? [],
    root: options.root,
    lockTtlSeconds: 30,
    requestTimeoutMs: 2000,
    shutdownGraceMs: 1000,
    logLevel: 'error',
    extra: options.extra ?? {},
  };
  const observability = new Observability({ service: options.program, cell: options.cell, config, tracerProvider: options.tracerProvider, env: {} });
  const raw = openStore({
    backend,
    endpoints: config.etcdEndpoints,
    root: config.root,
    requestTimeoutMs: 2000,
    wrapEngine: observability.wrapEngine,
  });
  const store = observability.instrumentStore(raw);
  const server = await TopoServer.start({
    config,
    store: raw,
    log: new Logger({}, 'error'),
    healthProbeIntervalMs: 100,
    observability,
    services: (tracker) => options.services(store, tracker, observability),
  });
  return {
    server,
    observability,
    store,
    address: `127.0.0.1:${server.port}`,
    httpBase: `http://127.0.0.1:${observability.httpPort}`,
    stop: () => server.shutdown(),
  };
}

/** The value of one sample in Prometheus text, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(match[4]);
  }
  return undefined;
}
