import { Etcd3 } from 'etcd3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { CertificateAuthority } from '../../../deploy/tls/certificate-authority';
import { openStore, TopoErrorCode, type Store } from '..';

const dir = mkdtempSync(join(tmpdir(), 'topo-etcd-tls-'));
const ca = CertificateAuthority.create(dir);
const member = ca.issue('etcd', { commonName: 'etcd', loopback: true });
const client = ca.issue('client', { commonName: 'global-topo' });
const etcd = useEtcdCluster({ tls: { ...member, ca: ca.caCert } });
let store: Store;

beforeAll(() => {
  store = openStore({ backend: 'etcd', endpoints: etcd().endpoints, root: '/tls', requestTimeoutMs: 2000, tls: { ...client, ca: ca.caCert } });
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the etcd store over TLS with client certificates', () => {
  it('reads and writes, and is refused without a client certificate', async () => {
    const version = await store.create('a/file', Buffer.from('x'));
    expect((await store.get('a/file')).version).toBe(version);
    const anonymous = openStore({ backend: 'etcd', endpoints: etcd().endpoints, root: '/tls', requestTimeoutMs: 1000, tls: { ca: ca.caCert } });
    await expect(anonymous.get('a/file')).rejects.toMatchObject({ code: TopoErrorCode.Unavailable });
    await anonymous.close();
  });

  // A cancelled watch or keepalive stream used to make etcd3 close every client of the host,
  // failing the unlock in flight and hanging the next lock.
  it('takes and releases locks one after another, with watches ending between them', async () => {
    await store.create('locked/file', Buffer.from('x'));
    for (let i = 0; i < 4; i++) {
      const lock = await store.lock('locked', `round ${i}`, { timeoutMs: 3000 });
      const watch = await store.watch('locked/file', { signal: AbortSignal.timeout(50) });
      await (async () => {
        for await (const _ of watch.changes) break;
      })().catch(() => undefined);
      await lock.unlock();
    }
  });
});

describe('the etcd store with user/password authentication', () => {
  const authEtcd = useEtcdCluster();

  it('works with the user and password, and is refused without them', async () => {
    const admin = new Etcd3({ hosts: authEtcd().endpoints });
    await admin.auth.roleAdd({ name: 'root' });
    await admin.auth.userAdd({ name: 'root', password: 'hunter2' });
    await admin.auth.userGrantRole({ user: 'root', role: 'root' });
    await admin.auth.authEnable();
    admin.close();
    const authed = openStore({ backend: 'etcd', endpoints: authEtcd().endpoints, root: '/auth', requestTimeoutMs: 2000, auth: { username: 'root', password: 'hunter2' } });
    const version = await authed.create('a/file', Buffer.from('x'));
    expect((await authed.get('a/file')).version).toBe(version);
    await authed.close();
    const anonymous = openStore({ backend: 'etcd', endpoints: authEtcd().endpoints, root: '/auth', requestTimeoutMs: 2000 });
    await expect(anonymous.get('a/file')).rejects.toThrow();
    await anonymous.close();
  });
});
