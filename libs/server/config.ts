import { parseArgs } from 'node:util';
import type { LogLevel } from './logger';

/** Settings shared by both services, from flags first, then environment, then defaults. */
export interface ServerConfig {
  /** host:port to listen on. */
  listen: string;
  /** Store plugin: 'etcd' or 'memory'. */
  backend: string;
  etcdEndpoints: string[];
  /** Key prefix of this service's topology in etcd, e.g. /topo/global. */
  root: string;
  /** Default TTL of locks and elections, seconds. */
  lockTtlSeconds: number;
  /** Deadline of each etcd request, milliseconds. */
  requestTimeoutMs: number;
  /** How long SIGTERM waits for calls to finish before cutting them, milliseconds. */
  shutdownGraceMs: number;
  logLevel: LogLevel;
  /** Values of the service's own options (see ConfigDefaults.extra), by option name. */
  extra: Record<string, string | undefined>;
}

export interface ExtraOption {
  env: string;
  help: string;
  default?: string;
}

export interface ConfigDefaults {
  listen: string;
  /** The root, or how to derive it from the service's own options (cell-topo: /topo/<cell>). */
  root: string | ((extra: Record<string, string | undefined>) => string);
  /** Options only this service has, e.g. cell-topo's --cell. */
  extra?: Record<string, ExtraOption>;
}

const OPTIONS = {
  listen: { type: 'string', env: 'TOPO_LISTEN', help: 'host:port to serve gRPC on' },
  backend: { type: 'string', env: 'TOPO_BACKEND', help: "store plugin: 'etcd' (default) or 'memory'" },
  'etcd-endpoints': { type: 'string', env: 'TOPO_ETCD_ENDPOINTS', help: 'comma-separated etcd client URLs' },
  root: { type: 'string', env: 'TOPO_ROOT', help: 'key prefix of this topology in etcd' },
  'lock-ttl': { type: 'string', env: 'TOPO_LOCK_TTL', help: 'lock and election lease TTL, seconds (default 30)' },
  'request-timeout': { type: 'string', env: 'TOPO_REQUEST_TIMEOUT', help: 'etcd request deadline, ms (default 5000)' },
  'shutdown-grace': { type: 'string', env: 'TOPO_SHUTDOWN_GRACE', help: 'SIGTERM grace period, ms (default 5000)' },
  'log-level': { type: 'string', env: 'TOPO_LOG_LEVEL', help: 'debug, info, warn or error (default info)' },
} as const;

export class ConfigError extends Error {}

export function usage(program: string, extra: Record<string, ExtraOption> = {}): string {
  const lines = [...Object.entries(OPTIONS), ...Object.entries(extra)].map(
    ([name, o]) => `  --${name.padEnd(18)} ${o.help} [$${o.env}]`,
  );
  return `Usage: ${program} [options]\n\n${lines.join('\n')}\n  --help               show this text`;
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Returns undefined when --help was asked for. */
export function parseConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  defaults: ConfigDefaults,
): ServerConfig | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(
          [...Object.keys(OPTIONS), ...Object.keys(defaults.extra ?? {})].map((name) => [name, { type: 'string' as const }]),
        ),
        help: { type: 'boolean' as const },
      },
      strict: true,
    });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (parsed.values.help) return undefined;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const get = (name: keyof typeof OPTIONS): string | undefined => {
    const flag = values[name];
    return typeof flag === 'string' ? flag : env[OPTIONS[name].env];
  };

  const backend = get('backend') ?? 'etcd';
  const endpoints = (get('etcd-endpoints') ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (backend === 'etcd' && endpoints.length === 0) {
    throw new ConfigError('--etcd-endpoints (or $TOPO_ETCD_ENDPOINTS) is required with the etcd backend');
  }
  for (const endpoint of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(endpoint)) {
      throw new ConfigError(`etcd endpoint ${JSON.stringify(endpoint)} must look like http://host:port`);
    }
  }
  const listen = get('listen') ?? defaults.listen;
  if (!/^[^:]*:\d+$/.test(listen) && !/^\[[^\]]+\]:\d+$/.test(listen)) {
    throw new ConfigError(`--listen must be host:port, got ${JSON.stringify(listen)}`);
  }
  const logLevel = get('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  }
  const extra = Object.fromEntries(
    Object.entries(defaults.extra ?? {}).map(([name, option]) => {
      const flag = values[name];
      return [name, typeof flag === 'string' ? flag : (env[option.env] ?? option.default)];
    }),
  );
  return {
    listen,
    backend,
    etcdEndpoints: endpoints,
    root: get('root') ?? (typeof defaults.root === 'function' ? defaults.root(extra) : defaults.root),
    lockTtlSeconds: wholeNumber('lock-ttl', get('lock-ttl') ?? '30', 1, 3600),
    requestTimeoutMs: wholeNumber('request-timeout', get('request-timeout') ?? '5000', 100, 600_000),
    shutdownGraceMs: wholeNumber('shutdown-grace', get('shutdown-grace') ?? '5000', 0, 600_000),
    logLevel: logLevel as LogLevel,
    extra,
  };
}
