import type { PeerCertificate } from 'node:tls';

/** What a call's connection says about its caller (grpc-js `call.getAuthContext()`). */
export interface AuthContextLike {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

/**
 * The caller's identity, from the client certificate the handshake verified: its first URI
 * SAN (a SPIFFE ID such as `spiffe://example.org/tablet/zone1-100`), else its subject CN.
 * Undefined on a plaintext connection or without a client certificate.
 */
export function identityOf(auth: AuthContextLike | null | undefined): string | undefined {
  const cert = auth?.sslPeerCertificate;
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const uri = firstUriSan(cert.subjectaltname);
  if (uri) return uri;
  const cn = cert.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}

/** Node lists SANs as `URI:a, DNS:b`, quoting (JSON) any value that holds a comma. */
function firstUriSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  const match = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/.exec(subjectAltName);
  if (!match) return undefined;
  const value = match[1];
  return value.startsWith('"') ? (JSON.parse(value) as string) : value;
}
