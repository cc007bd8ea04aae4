import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveEtcdBinary } from './etcd-binary';

export interface EtcdClusterOptions {
  /** Number of members; default 1. */
  members?: 1 | 3;
  /** Default: a fresh directory under os.tmpdir(), removed on stop() unless keepData. */
  dataDir?: string;
  /** Keep the data dir on stop(); `make up` keeps a persistent dir under ./.data. */
  keepData?: boolean;
  /** Default 127.0.0.1. Only IPv4 loopback: peers talk plaintext. */
  host?: string;
  /** Fixed client ports, one per member (`make up`); default: free ports picked at start. */
  clientPorts?: number[];
  /** Default: the ETCD_BIN environment variable, else `etcd` on PATH. */
  etcdBinary?: string;
  /** Appended after the harness's flags, so they override them. */
  extraFlags?: string[];
  /** One file all members append to; default `<dataDir>/<member name>.log` per member. */
  logFile?: string;
  /** How long start() and restart() wait for health; default 20000. */
  startTimeoutMs?: number;
  /**
   * Serve clients over TLS (https client URLs) and require client certificates signed by
   * `ca` (etcd's --client-cert-auth). The harness's health probe presents `cert`/`key`.
   */
  tls?: EtcdTlsFiles;
}

/** PEM files: the members' certificate and key (valid for 127.0.0.1) and the CA of their clients. */
export interface EtcdTlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** Options checked and defaulted; the data dir exists once this is built. */
export interface ClusterSettings {
  readonly memberCount: number;
  readonly dataDir: string;
  /** True when the harness made the data dir, so it may delete the whole directory. */
  readonly ownsDataDir: boolean;
  readonly keepData: boolean;
  readonly host: string;
  readonly clientPorts: readonly number[] | undefined;
  readonly binary: string;
  readonly extraFlags: readonly string[];
  readonly logFile: string | undefined;
  readonly startTimeoutMs: number;
  readonly tls: EtcdTlsFiles | undefined;
}

const LOOPBACK_IPV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function resolveSettings(options: EtcdClusterOptions): ClusterSettings {
  const memberCount = options.members ?? 1;
  if (memberCount !== 1 && memberCount !== 3) {
    throw new Error(`members must be 1 or 3, got ${String(memberCount)}`);
  }
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_IPV4.test(host)) {
    throw new Error(`host must be an IPv4 loopback address, got '${host}'`);
  }
  const clientPorts = options.clientPorts;
  if (clientPorts !== undefined) {
    if (clientPorts.length !== memberCount) {
      throw new Error(
        `clientPorts needs one port per member (${memberCount}), got ${clientPorts.length}`,
      );
    }
    if (new Set(clientPorts).size !== clientPorts.length || !clientPorts.every(isPort)) {
      throw new Error(
        `clientPorts must be distinct ports in 1-65535, got ${clientPorts.join(',')}`,
      );
    }
  }
  const binary = resolveEtcdBinary(options.etcdBinary);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir =
    options.dataDir === undefined
      ? mkdtempSync(join(tmpdir(), 'topo-etcd-'))
      : resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  return {
    memberCount,
    dataDir,
    ownsDataDir,
    keepData: options.keepData ?? false,
    host,
    clientPorts,
    binary,
    extraFlags: options.extraFlags ?? [],
    logFile: options.logFile === undefined ? undefined : resolve(options.logFile),
    startTimeoutMs: options.startTimeoutMs ?? 20_000,
    tls: options.tls,
  };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}
