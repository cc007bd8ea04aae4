import { openStore, type Store } from '../store';
import { ConfigError, parseConfig, usage, type ConfigDefaults, type ServerConfig } from './config';
import type { CallTracker } from './handlers';
import { Logger, errorFields } from './logger';
import { Observability } from './observability';
import { TopoServer, type ServiceRegistration } from './topo-server';
import { isWorkerPrimary, superviseWorkers, workerId } from './workers';

/**
 * The main of a service: config from flags and environment, the store, the server, and
 * SIGTERM/SIGINT handling. Exits 2 on bad configuration, 1 on a failed start.
 */
export async function runService(options: {
  program: string;
  defaults: ConfigDefaults;
  services: (store: Store, tracker: CallTracker, config: ServerConfig, observability: Observability) => ServiceRegistration[];
  /** The `cell` label of store metrics: 'global' unless the service serves a cell. */
  cell?: (config: ServerConfig) => string;
  /** Checks the service's own options before anything starts; throw ConfigError to refuse. */
  validate?: (config: ServerConfig) => void;
  /** How many processes serve the port (see workers.ts); default 1. */
  workers?: (config: ServerConfig) => number;
  argv?: string[];
}): Promise<TopoServer | undefined> {
  let config: ServerConfig | undefined;
  let workers = 1;
  try {
    config = parseConfig(options.argv ?? process.argv.slice(2), process.env, options.defaults);
    if (config) options.validate?.(config);
    if (config) workers = options.workers?.(config) ?? 1;
    if (workers > 1 && config?.backend === 'memory') {
      throw new ConfigError('--workers above 1 needs the etcd backend: each process would have a memory store of its own');
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${options.program}: ${err.message}\n\n${usage(options.program, options.defaults.extra)}\n`);
    process.exit(2);
  }
  if (!config) {
    process.stdout.write(`${usage(options.program, options.defaults.extra)}\n`);
    return undefined;
  }
  const worker = workerId();
  const log = new Logger(worker === undefined ? { service: options.program } : { service: options.program, worker }, config.logLevel);
  if (isWorkerPrimary(workers)) {
    superviseWorkers({ count: workers, log, graceMs: config.shutdownGraceMs });
    return undefined;
  }
  // Worker k of --workers N serves its own HTTP port, P + k - 1: each process is its own
  // Prometheus target and status page, as each Vitess process is.
  const slot = Number(process.env.TOPO_WORKER_SLOT ?? '1');
  if (workers > 1 && config.httpListen) config = { ...config, httpListen: workerHttpListen(config.httpListen, slot) };
  const observability = new Observability({ service: options.program, cell: options.cell?.(config) ?? 'global', config });
  const store = openStore({
    backend: config.backend,
    endpoints: config.etcdEndpoints,
    root: config.root,
    lockTtlSeconds: config.lockTtlSeconds,
    requestTimeoutMs: config.requestTimeoutMs,
    tls: config.etcdTls,
    auth: config.etcdAuth,
    wrapEngine: observability.wrapEngine,
  });
  // Handlers see the instrumented store; the server's own health probe is not a store
  // operation an operator counts.
  const served = observability.instrumentStore(store);
  const resolved = config;
  let server: TopoServer;
  try {
    server = await TopoServer.start({
      config,
      store,
      log,
      services: (tracker) => options.services(served, tracker, resolved, observability),
      observability,
    });
  } catch (err) {
    log.error('start failed', errorFields(err));
    await store.close().catch(() => undefined);
    await observability.close().catch(() => undefined);
    process.exit(1);
  }
  const stop = (signal: string): void => {
    log.info('signal received', { signal });
    server.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', errorFields(err));
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return server;
}

/** host:port with the port moved up by slot - 1 (port 0, any free port, stays 0). */
export function workerHttpListen(listen: string, slot: number): string {
  const match = /^(.*):(\d+)$/.exec(listen);
  if (!match || match[2] === '0' || !Number.isInteger(slot) || slot < 1) return listen;
  return `${match[1]}:${Number(match[2]) + slot - 1}`;
}
