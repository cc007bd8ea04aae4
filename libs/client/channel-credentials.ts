import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';

/**
 * The three files a client of global-topo or cell-topo takes, as the services' own
 * `--grpc-ca`, `--grpc-cert` and `--grpc-key`: the CA that signed the server's certificate,
 * and this client's certificate and key (needed when the server requires mTLS).
 */
export interface ClientTlsFiles {
  ca: string;
  cert?: string;
  key?: string;
  /** The name to check the server's certificate against, when it differs from the address's host. */
  serverName?: string;
}

/** Plaintext without files; TLS (mTLS when a certificate is given) with them. Files are read once, here. */
export function channelCredentials(tls?: ClientTlsFiles): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new Error('a client certificate needs its key, and a key its certificate');
  return credentials.createSsl(
    readFileSync(tls.ca),
    tls.key !== undefined ? readFileSync(tls.key) : null,
    tls.cert !== undefined ? readFileSync(tls.cert) : null,
  );
}

/** Channel options that go with `channelCredentials`: the server name override, if any. */
export function tlsChannelOptions(tls?: ClientTlsFiles): Record<string, string> {
  return tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
}
