import { ServerCredentials } from '@grpc/grpc-js';
import { readFileSync, unwatchFile, watchFile, type StatWatcher } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { errorFields, type Logger } from '../logger';

/** The files of Vitess's `--grpc-cert`, `--grpc-key`, `--grpc-ca` and `--grpc-crl`. */
export interface ServerTlsFiles {
  cert: string;
  key: string;
  /** Set: clients must present a certificate signed by this CA bundle (mTLS). */
  ca?: string;
  /** Revoked client certificates, checked at the handshake. */
  crl?: string;
}

export const DEFAULT_RELOAD_INTERVAL_MS = 1000;

/**
 * Server credentials read from files and re-read when any of them changes, without a
 * restart: grpc-js applies a new secure context to the listening socket (its
 * `setSecureContext`), so connections made after the change use the new certificate, CA
 * and CRL while established ones keep theirs. A change that does not load (a key that does
 * not match its certificate, a half-written file) is logged and the last good files stay.
 * Files are polled (stat), which follows the symlink swaps Kubernetes uses for secrets.
 */
export class ReloadingServerCredentials extends ServerCredentials {
  private readonly watched: string[];
  private reloadTimer: NodeJS.Timeout | undefined;
  private loaded: string;

  constructor(
    private readonly files: ServerTlsFiles,
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_RELOAD_INTERVAL_MS,
  ) {
    const { options, summary } = loadContext(files);
    // requestCert + rejectUnauthorized: a client without a certificate our CA signed (and
    // not revoked) is cut at the handshake, before any call reaches a handler.
    super({ requestCert: files.ca !== undefined, rejectUnauthorized: files.ca !== undefined, minVersion: 'TLSv1.2' }, options);
    this.loaded = summary;
    this.watched = [files.cert, files.key, files.ca, files.crl].filter((f): f is string => f !== undefined);
    for (const file of this.watched) watchFile(file, { interval: intervalMs, persistent: false }, this.onChange);
    log.info('tls enabled', { cert: files.cert, mtls: files.ca !== undefined, crl: files.crl !== undefined, certificate: summary });
  }

  /** Stops watching the files. */
  close(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    for (const file of this.watched) unwatchFile(file, this.onChange);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }

  /** Re-reads every file now; true when the new files were applied. */
  reload(): boolean {
    try {
      const { options, summary } = loadContext(this.files);
      this.updateSecureContextOptions(options);
      if (summary !== this.loaded) this.log.info('tls certificates reloaded', { certificate: summary });
      this.loaded = summary;
      return true;
    } catch (err) {
      this.log.warn('tls files changed but do not load: keeping the previous ones', errorFields(err));
      return false;
    }
  }

  // Several files usually change together (a renewed certificate and its key): wait for
  // the burst to settle before reading them.
  private readonly onChange = (): void => {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.reload(), Math.min(200, this.intervalMs));
    this.reloadTimer.unref();
  };
}

function loadContext(files: ServerTlsFiles): { options: SecureContextOptions; summary: string } {
  const cert = readFileSync(files.cert);
  const options: SecureContextOptions = {
    cert,
    key: readFileSync(files.key),
    ...(files.ca !== undefined ? { ca: readFileSync(files.ca) } : {}),
    ...(files.crl !== undefined ? { crl: readFileSync(files.crl) } : {}),
  };
  // Throws on what the listener would reject: unparsable PEM, a key not matching the certificate.
  createSecureContext(options);
  const leaf = new X509Certificate(cert);
  return { options, summary: `${leaf.subject.replace(/\n/g, ', ')} serial ${leaf.serialNumber} until ${leaf.validTo}` };
}
