import { openStore, type Store } from '../store';
import { ConfigError, parseConfig, usage, type ConfigDefaults, type ServerConfig } from './config';
import type { CallTracker } from './handlers';
import { Logger, errorFields } from './logger';
import { TopoServer, type ServiceRegistration } from './topo-server';

/**
 * The main of a service: config from flags and environment, the store, the server, and
 * SIGTERM/SIGINT handling. Exits 2 on bad configuration, 1 on a failed start.
 */
export async function runService(options: {
  program: string;
  defaults: ConfigDefaults;
  services: (store: Store, tracker: CallTracker, config: ServerConfig) => ServiceRegistration[];
  /** Checks the service's own options before anything starts; throw ConfigError to refuse. */
  validate?: (config: ServerConfig) => void;
  argv?: string[];
}): Promise<TopoServer | undefined> {
  let config: ServerConfig | undefined;
  try {
    config = parseConfig(options.argv ?? process.argv.slice(2), process.env, options.defaults);
    if (config) options.validate?.(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${options.program}: ${err.message}\n\n${usage(options.program, options.defaults.extra)}\n`);
    process.exit(2);
  }
  if (!config) {
    process.stdout.write(`${usage(options.program, options.defaults.extra)}\n`);
    return undefined;
  }
  const log = new Logger({ service: options.program }, config.logLevel);
  const store = openStore({
    backend: config.backend,
    endpoints: config.etcdEndpoints,
    root: config.root,
    lockTtlSeconds: config.lockTtlSeconds,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  const resolved = config;
  let server: TopoServer;
  try {
    server = await TopoServer.start({
      config,
      store,
      log,
      services: (tracker) => options.services(store, tracker, resolved),
    });
  } catch (err) {
    log.error('start failed', errorFields(err));
    await store.close().catch(() => undefined);
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
