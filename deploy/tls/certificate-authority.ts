/**
 * A throwaway certificate authority made with the real openssl: the tests' certificates
 * (valid, expired, revoked, from another CA) and those `TLS=1 make up` hands to every
 * process. `openssl ca` keeps a database, so revocation and CRLs are what an operator's
 * own CA would produce.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (unencrypted). */
  key: string;
}

export interface IssueOptions {
  /** Subject common name. */
  commonName: string;
  /** A SPIFFE-style URI SAN, e.g. spiffe://topo/tablet/zone1-100. */
  uri?: string;
  /** Adds DNS:localhost and IP:127.0.0.1, so the certificate can serve on loopback. */
  loopback?: boolean;
  /** Validity, openssl's YYYYMMDDHHMMSSZ form; default from an hour ago for 30 days. */
  notBefore?: string;
  notAfter?: string;
}

function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export class CertificateAuthority {
  private issued = 0;

  private constructor(
    /** Directory holding the CA's key, certificate, database and everything it issued. */
    readonly dir: string,
    /** The CA certificate: what `--grpc-ca` and clients' `ca` point at. */
    readonly caCert: string,
  ) {}

  /** Makes a new CA (P-256 key, 30 days) in `dir`, which is created. */
  static create(dir: string, commonName = 'topo throwaway CA'): CertificateAuthority {
    mkdirSync(join(dir, 'issued'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(join(dir, 'crlnumber'), '1000\n');
    writeFileSync(join(dir, 'openssl.cnf'), caConfig(dir));
    const caCert = join(dir, 'ca.crt');
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ['-keyout', join(dir, 'ca.key'), '-out', caCert, '-days', '30', '-subj', `/CN=${commonName}`],
      ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
    return new CertificateAuthority(dir, caCert);
  }

  /** Issues a certificate for client and server use; `name` names its files. */
  issue(name: string, options: IssueOptions): CertificateFiles {
    const base = join(this.dir, 'issued', `${name}-${++this.issued}`);
    const files = { cert: `${base}.crt`, key: `${base}.key` };
    const sans = [
      ...(options.uri ? [`URI:${options.uri}`] : []),
      ...(options.loopback ? ['DNS:localhost', 'IP:127.0.0.1'] : []),
    ];
    const extensions = [
      '[leaf]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      '',
    ].join('\n');
    writeFileSync(`${base}.ext`, extensions);
    openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ['-keyout', files.key, '-out', `${base}.csr`, '-subj', `/CN=${options.commonName}`],
    );
    const now = Date.now();
    openssl(
      ['ca', '-batch', '-notext', '-config', join(this.dir, 'openssl.cnf'), '-in', `${base}.csr`, '-out', files.cert],
      ['-extfile', `${base}.ext`, '-extensions', 'leaf'],
      ['-startdate', options.notBefore ?? opensslTime(new Date(now - 3600_000))],
      ['-enddate', options.notAfter ?? opensslTime(new Date(now + 30 * 86_400_000))],
    );
    return files;
  }

  /** Issues a certificate that expired yesterday. */
  issueExpired(name: string, options: Omit<IssueOptions, 'notBefore' | 'notAfter'>): CertificateFiles {
    const day = 86_400_000;
    return this.issue(name, {
      ...options,
      notBefore: opensslTime(new Date(Date.now() - 3 * day)),
      notAfter: opensslTime(new Date(Date.now() - day)),
    });
  }

  /** Marks a certificate revoked in the CA's database; `writeCrl` publishes it. */
  revoke(certificate: CertificateFiles): void {
    openssl(['ca', '-batch', '-config', join(this.dir, 'openssl.cnf'), '-revoke', certificate.cert]);
  }

  /** Writes the CA's current revocation list (PEM) and returns its path: what `--grpc-crl` points at. */
  writeCrl(path = join(this.dir, 'ca.crl')): string {
    openssl(['ca', '-batch', '-config', join(this.dir, 'openssl.cnf'), '-gencrl', '-out', path]);
    return path;
  }
}

function openssl(...args: string[][]): void {
  try {
    execFileSync('openssl', args.flat(), { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.flat().slice(0, 2).join(' ')} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

function caConfig(dir: string): string {
  return `[ca]
default_ca = topo_ca

[topo_ca]
database = ${join(dir, 'index.txt')}
new_certs_dir = ${join(dir, 'issued')}
serial = ${join(dir, 'serial')}
crlnumber = ${join(dir, 'crlnumber')}
certificate = ${join(dir, 'ca.crt')}
private_key = ${join(dir, 'ca.key')}
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any_subject
unique_subject = no
copy_extensions = none
email_in_dn = no

[any_subject]
commonName = supplied
`;
}
