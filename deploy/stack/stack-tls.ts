/**
 * `TLS=1 make up`: a throwaway CA under <data dir>/tls, made afresh at each start, with a
 * certificate for every process of the stack (etcd, global-topo, each cell-topo), the demo's
 * tablets and router, and an operator for topoctl and grpcurl; and the authorization policy
 * that gives each its role (docs/security.md).
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, type CertificateFiles } from '../tls/certificate-authority';

/** Tablet certificates made per cell for `make demo` (uids 1000 and up). */
export const DEMO_TABLETS_PER_CELL = 8;
export const DEMO_FIRST_UID = 1000;
const TRUST_DOMAIN = 'topo.local';

export interface StackTls {
  dir: string;
  ca: string;
  policy: string;
  /** A named certificate: etcd, global-topo, cell-topo-<cell>, router, operator, tablet-<cell>-<uid>. */
  files(name: string): CertificateFiles;
}

/** The files of a stack made by `createStackTls` in `dir`. */
export function stackTls(dir: string): StackTls {
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    policy: join(dir, 'policy.json'),
    files: (name) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }),
  };
}

export function createStackTls(dir: string, cells: string[]): StackTls {
  rmSync(dir, { recursive: true, force: true });
  const authority = CertificateAuthority.create(join(dir, 'ca'), 'topo local stack CA');
  const tls = stackTls(dir);
  copyFileSync(authority.caCert, tls.ca);
  const issue = (name: string, kind: string, loopback: boolean): void => {
    const issued = authority.issue(name, { commonName: name, uri: `spiffe://${TRUST_DOMAIN}/${kind}/${name}`, loopback });
    copyFileSync(issued.cert, tls.files(name).cert);
    copyFileSync(issued.key, tls.files(name).key);
  };
  issue('etcd', 'service', true);
  issue('global-topo', 'service', true);
  for (const cell of cells) issue(`cell-topo-${cell}`, 'service', true);
  issue('router', 'router', false);
  issue('operator', 'operator', false);
  for (const cell of cells) {
    for (let i = 0; i < DEMO_TABLETS_PER_CELL; i++) {
      const alias = `${cell}-${DEMO_FIRST_UID + i}`;
      const issued = authority.issue(`tablet-${alias}`, { commonName: alias, uri: `spiffe://${TRUST_DOMAIN}/tablet/${alias}` });
      copyFileSync(issued.cert, tls.files(`tablet-${alias}`).cert);
      copyFileSync(issued.key, tls.files(`tablet-${alias}`).key);
    }
  }
  const policy = {
    identities: [
      { match: `spiffe://${TRUST_DOMAIN}/operator/*`, roles: ['operator'] },
      { match: `spiffe://${TRUST_DOMAIN}/router/*`, roles: ['router'] },
      // cell-topo watches the global topology it checks tablets against: read only.
      { match: `spiffe://${TRUST_DOMAIN}/service/*`, roles: ['router'] },
      { match: `spiffe://${TRUST_DOMAIN}/tablet/{alias}`, roles: ['tablet'] },
    ],
  };
  writeFileSync(tls.policy, `${JSON.stringify(policy, null, 2)}\n`);
  return tls;
}

/** The flags that put a service of the stack on mTLS with the policy, and its store on etcd TLS. */
export function serviceTlsArgs(tls: StackTls, name: string, etcd: boolean): string[] {
  const own = tls.files(name);
  return [
    ...['--grpc-cert', own.cert, '--grpc-key', own.key, '--grpc-ca', tls.ca, '--authz-policy', tls.policy],
    ...(etcd ? ['--etcd-tls-cert', own.cert, '--etcd-tls-key', own.key, '--etcd-tls-ca', tls.ca] : []),
  ];
}
