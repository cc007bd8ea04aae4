import type { ClientTlsFiles } from '../channel-credentials';
import { parseDuration } from './argument-values';
import { UsageError, type OptionSpecs, type OptionValue } from './command';

export const DEFAULT_GLOBAL_ADDRESS = '127.0.0.1:15999';
export const DEFAULT_TIMEOUT = '10s';

/** Accepted before or after the command, by every command. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  global: {
    type: 'string',
    value: 'host:port',
    description: `global-topo address (default $TOPO_GLOBAL_ADDRESS or ${DEFAULT_GLOBAL_ADDRESS})`,
  },
  cell: { type: 'string', value: 'NAME', description: "a cell; its cell-topo address is read from global-topo's CellInfo" },
  'cell-address': { type: 'string', value: 'host:port', description: 'a cell-topo address, used instead of looking the cell up' },
  timeout: { type: 'string', value: 'DURATION', description: `deadline of each call (default ${DEFAULT_TIMEOUT})` },
  'grpc-ca': { type: 'string', value: 'FILE', description: "TLS: the CA that signed the services' certificates (default $TOPO_GRPC_CA)" },
  'grpc-cert': { type: 'string', value: 'FILE', description: 'mTLS: this client\'s certificate (default $TOPO_GRPC_CERT)' },
  'grpc-key': { type: 'string', value: 'FILE', description: 'mTLS: the key of --grpc-cert (default $TOPO_GRPC_KEY)' },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', description: 'print the version of topoctl and exit' },
};

export interface Settings {
  globalAddress: string;
  cell: string | undefined;
  cellAddress: string | undefined;
  timeoutMs: number;
  json: boolean;
  /** TLS to every service; unset: plaintext. */
  tls: ClientTlsFiles | undefined;
}

export function settingsOf(values: Record<string, OptionValue>, env: Record<string, string | undefined>): Settings {
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const globalAddress = text('global') ?? (env.TOPO_GLOBAL_ADDRESS || DEFAULT_GLOBAL_ADDRESS);
  const cellAddress = text('cell-address');
  for (const [flag, address] of [['global', globalAddress], ['cell-address', cellAddress]] as const) {
    if (address !== undefined && !/^[^\s]+:\d+$/.test(address)) {
      throw new UsageError(`--${flag} ${JSON.stringify(address)} must be host:port`);
    }
  }
  return {
    globalAddress,
    cell: text('cell'),
    cellAddress,
    timeoutMs: parseDuration(text('timeout') ?? DEFAULT_TIMEOUT, 'timeout'),
    json: values.json === true,
    tls: tlsOf(text('grpc-ca') ?? env.TOPO_GRPC_CA, text('grpc-cert') ?? env.TOPO_GRPC_CERT, text('grpc-key') ?? env.TOPO_GRPC_KEY),
  };
}

function tlsOf(ca?: string, cert?: string, key?: string): ClientTlsFiles | undefined {
  if (ca === undefined) {
    if (cert !== undefined || key !== undefined) throw new UsageError('--grpc-cert and --grpc-key need --grpc-ca');
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--grpc-cert and --grpc-key go together');
  return { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}
