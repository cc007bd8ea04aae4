import { parseArgs } from 'node:util';
import type { LogLevel } from './logger';
import type { ServerTlsFiles } from './tls';

/** Settings shared by both services, from flags first, then environment, then defaults. */
export interface ServerConfig {
  /** host:port to listen on. */
  listen: string;
  /** host:port of the HTTP port (/metrics, /debug/status); unset: none. */
  httpListen?: string;
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
  /** TLS on the gRPC listener (`--grpc-cert`, `--grpc-key`, `--grpc-ca`, `--grpc-crl`); unset: plaintext. */
  tls?: ServerTlsFiles;
  /** A plaintext listener serving only grpc.health.v1, for probes that cannot present a certificate. */
  healthListen?: string;
  /** The authorization policy file (docs/security.md); unset: no role checks. */
  authzPolicy?: string;
  /** TLS to etcd: client certificate and key, and the CA that signed etcd's certificates. */
  etcdTls?: { cert?: string; key?: string; ca?: string };
  /** etcd user/password authentication. */
  etcdAuth?: { username: string; password: string };
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
  'http-listen': { type: 'string', env: 'TOPO_HTTP_LISTEN', help: 'host:port to serve /metrics and /debug/status on (default: none)' },
  backend: { type: 'string', env: 'TOPO_BACKEND', help: "store plugin: 'etcd' (default) or 'memory'" },
  'etcd-endpoints': { type: 'string', env: 'TOPO_ETCD_ENDPOINTS', help: 'comma-separated etcd client URLs' },
  root: { type: 'string', env: 'TOPO_ROOT', help: 'key prefix of this topology in etcd' },
  'lock-ttl': { type: 'string', env: 'TOPO_LOCK_TTL', help: 'lock and election lease TTL, seconds (default 30)' },
  'request-timeout': { type: 'string', env: 'TOPO_REQUEST_TIMEOUT', help: 'etcd request deadline, ms (default 5000)' },
  'shutdown-grace': { type: 'string', env: 'TOPO_SHUTDOWN_GRACE', help: 'SIGTERM grace period, ms (default 5000)' },
  'log-level': { type: 'string', env: 'TOPO_LOG_LEVEL', help: 'debug, info, warn or error (default info)' },
  'grpc-cert': { type: 'string', env: 'TOPO_GRPC_CERT', help: 'PEM certificate to serve TLS with (reloaded on change)' },
  'grpc-key': { type: 'string', env: 'TOPO_GRPC_KEY', help: 'PEM private key of --grpc-cert' },
  'grpc-ca': { type: 'string', env: 'TOPO_GRPC_CA', help: 'PEM CA bundle: require client certificates signed by it (mTLS)' },
  'grpc-crl': { type: 'string', env: 'TOPO_GRPC_CRL', help: 'PEM revocation list checked against client certificates' },
  'health-listen': { type: 'string', env: 'TOPO_HEALTH_LISTEN', help: 'host:port of a plaintext listener serving only grpc.health.v1' },
  'authz-policy': { type: 'string', env: 'TOPO_AUTHZ_POLICY', help: 'authorization policy file, JSON (reloaded on change)' },
  'etcd-tls-cert': { type: 'string', env: 'TOPO_ETCD_TLS_CERT', help: 'PEM client certificate for etcd' },
  'etcd-tls-key': { type: 'string', env: 'TOPO_ETCD_TLS_KEY', help: 'PEM private key of --etcd-tls-cert' },
  'etcd-tls-ca': { type: 'string', env: 'TOPO_ETCD_TLS_CA', help: "PEM CA bundle that signed etcd's certificates" },
  'etcd-user': { type: 'string', env: 'TOPO_ETCD_USER', help: 'etcd user (password from $TOPO_ETCD_PASSWORD)' },
  'etcd-password': { type: 'string', env: 'TOPO_ETCD_PASSWORD', help: 'etcd password; prefer the environment variable' },
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
  checkListen('listen', listen);
  const httpListen = get('http-listen') || undefined;
  if (httpListen !== undefined) checkListen('http-listen', httpListen);
  const logLevel = get('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  }
  const tls = serverTls(get('grpc-cert'), get('grpc-key'), get('grpc-ca'), get('grpc-crl'));
  if (get('authz-policy') !== undefined && !tls?.ca) {
    throw new ConfigError('--authz-policy needs --grpc-ca: identities come from verified client certificates');
  }
  const healthListen = get('health-listen');
  if (healthListen !== undefined) checkListen('health-listen', healthListen);
  const etcdTls = etcdTlsFiles(get('etcd-tls-cert'), get('etcd-tls-key'), get('etcd-tls-ca'));
  if (etcdTls && endpoints.some((e) => e.startsWith('http://'))) {
    throw new ConfigError('--etcd-tls-* needs https:// etcd endpoints');
  }
  const user = get('etcd-user');
  const password = get('etcd-password');
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError('--etcd-user and --etcd-password (or $TOPO_ETCD_PASSWORD) go together');
  }
  const extra = Object.fromEntries(
    Object.entries(defaults.extra ?? {}).map(([name, option]) => {
      const flag = values[name];
      return [name, typeof flag === 'string' ? flag : (env[option.env] ?? option.default)];
    }),
  );
  return {
    listen,
    ...(httpListen ? { httpListen } : {}),
    backend,
    etcdEndpoints: endpoints,
    root: get('root') ?? (typeof defaults.root === 'function' ? defaults.root(extra) : defaults.root),
    lockTtlSeconds: wholeNumber('lock-ttl', get('lock-ttl') ?? '30', 1, 3600),
    requestTimeoutMs: wholeNumber('request-timeout', get('request-timeout') ?? '5000', 100, 600_000),
    shutdownGraceMs: wholeNumber('shutdown-grace', get('shutdown-grace') ?? '5000', 0, 600_000),
    logLevel: logLevel as LogLevel,
    ...(tls ? { tls } : {}),
    ...(healthListen !== undefined ? { healthListen } : {}),
    ...(get('authz-policy') !== undefined ? { authzPolicy: get('authz-policy') } : {}),
    ...(etcdTls ? { etcdTls } : {}),
    ...(user !== undefined && password !== undefined ? { etcdAuth: { username: user, password } } : {}),
    extra,
  };
}

function checkListen(name: string, value: string): void {
  if (!/^[^:]*:\d+$/.test(value) && !/^\[[^\]]+\]:\d+$/.test(value)) {
    throw new ConfigError(`--${name} must be host:port, got ${JSON.stringify(value)}`);
  }
}

/** Vitess's rules: a certificate needs its key; a CA or CRL means nothing without TLS. */
function serverTls(cert?: string, key?: string, ca?: string, crl?: string): ServerTlsFiles | undefined {
  if (cert === undefined && key === undefined) {
    if (ca !== undefined || crl !== undefined) throw new ConfigError('--grpc-ca and --grpc-crl need --grpc-cert and --grpc-key');
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new ConfigError('--grpc-cert and --grpc-key go together');
  if (crl !== undefined && ca === undefined) throw new ConfigError('--grpc-crl needs --grpc-ca (it revokes client certificates)');
  return { cert, key, ...(ca !== undefined ? { ca } : {}), ...(crl !== undefined ? { crl } : {}) };
}

function etcdTlsFiles(cert?: string, key?: string, ca?: string): ServerConfig['etcdTls'] {
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--etcd-tls-cert and --etcd-tls-key go together');
  if (ca === undefined) throw new ConfigError("--etcd-tls-ca is required with etcd TLS: the CA that signed etcd's certificates");
  return { ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}), ...(ca !== undefined ? { ca } : {}) };
}
