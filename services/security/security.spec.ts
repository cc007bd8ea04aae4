/**
 * The security model end to end, with real certificates made by openssl: an etcd cluster
 * that requires client certificates, global-topo and cell-topo on mTLS with a policy, and
 * callers holding operator, router and tablet certificates (docs/security.md).
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { CertificateAuthority, type CertificateFiles } from '../../deploy/tls/certificate-authority';
import { CellTablets, channelCredentials } from '../../libs/client';
import { SrvKeyspace, Tablet, TabletType } from '../../libs/proto';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import { AcquireLockRequest, GlobalTopoServiceClient, LockKind, UpdateShardFieldsRequest } from '../../libs/proto/gen/topo/global/v1/global';
import { PathServiceClient } from '../../libs/proto/gen/topo/path/v1/path';
import { openStore } from '../../libs/store';
import { call, codeOf } from '../../libs/testing/grpc-call';
import { run } from '../../libs/client/cli/main';
import { grpcurl } from '../../libs/testing/grpcurl';
import { until } from '../../libs/testing/until';
import { startCellTopo, type CellTopoFixture } from '../cell-topo/cell-topo.fixture';
import { startGlobalTopo, type GlobalTopoFixture } from '../global-topo/global-topo.fixture';

const dir = mkdtempSync(join(tmpdir(), 'topo-security-'));
const ca = CertificateAuthority.create(join(dir, 'ca'));
const service = (name: string): CertificateFiles =>
  ca.issue(name, { commonName: name, uri: `spiffe://topo.test/service/${name}`, loopback: true });
const etcdCert = service('etcd');
const globalCert = service('global-topo');
const cellCert = service('cell-topo-zone1');
const person = (kind: string, name: string): CertificateFiles => ca.issue(name, { commonName: name, uri: `spiffe://topo.test/${kind}/${name}` });
const alice = person('operator', 'alice');
const router = person('router', 'vtgate-1');
const tablet100 = person('tablet', 'zone1-100');
const tablet200 = person('tablet', 'zone1-200');
// A second identity naming zone1-100: a replacement host, say.
const otherHost = ca.issue('db-7', { commonName: 'db-7.example' });
const stranger = ca.issue('stranger', { commonName: 'nobody-in-the-policy' });

const policyPath = join(dir, 'policy.json');
const POLICY = {
  identities: [
    { match: 'spiffe://topo.test/operator/*', roles: ['operator'] },
    { match: 'spiffe://topo.test/router/*', roles: ['router'] },
    // cell-topo reads the global topology it validates tablets against.
    { match: 'spiffe://topo.test/service/*', roles: ['router'] },
    { match: 'spiffe://topo.test/tablet/{alias}', roles: ['tablet'] },
    { match: 'db-7.example', roles: ['tablet'], tablets: ['zone1-100'] },
  ],
};
writeFileSync(policyPath, JSON.stringify(POLICY));

const etcd = useEtcdCluster({ tls: { ...etcdCert, ca: ca.caCert } });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;
const clients: Array<{ close(): void }> = [];

function as<C extends { close(): void }>(Client: new (address: string, creds: ReturnType<typeof channelCredentials>) => C, address: string, who: CertificateFiles): C {
  const client = new Client(address, channelCredentials({ ca: ca.caCert, ...who }));
  clients.push(client);
  return client;
}
const globalAs = (who: CertificateFiles) => as(GlobalTopoServiceClient, global.address, who);
const cellAs = (who: CertificateFiles) => as(CellTopoServiceClient, cell.address, who);
const cellPathAs = (who: CertificateFiles) => as(PathServiceClient, cell.address, who);
const globalPathAs = (who: CertificateFiles) => as(PathServiceClient, global.address, who);

const tablet = (uid: number): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid }, hostname: `host-${uid}`, keyspace: 'ks', shard: '0', type: TabletType.REPLICA });
/** The call's status code, OK included. */
const outcome = (promise: Promise<unknown>): Promise<status> => promise.then(() => status.OK, (err: ServiceError) => err.code);
const registration = (uid: number, session: string, takeover = false) => ({
  registration: { tablet: tablet(uid), session, ttl: { seconds: '10', nanos: 0 }, takeover, leaseId: '0' },
});

beforeAll(async () => {
  const etcdTls = { cert: globalCert.cert, key: globalCert.key, ca: ca.caCert };
  global = await startGlobalTopo(etcd().endpoints, {
    security: {
      tls: { ...globalCert, ca: ca.caCert },
      authzPolicy: policyPath,
      etcdTls,
      clientCredentials: channelCredentials({ ca: ca.caCert, ...alice }),
    },
  });
  const g = global.client;
  await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
  await call(g.createShard.bind(g), { keyspace: 'ks', name: '0' });
  const root = `/test/${process.pid}/zone1`;
  cell = await startCellTopo({
    endpoints: etcd().endpoints,
    root,
    cell: 'zone1',
    globalAddress: global.address,
    security: {
      tls: { ...cellCert, ca: ca.caCert },
      authzPolicy: policyPath,
      etcdTls: { cert: cellCert.cert, key: cellCert.key, ca: ca.caCert },
      globalTls: { ca: ca.caCert, ...cellCert },
      clientCredentials: channelCredentials({ ca: ca.caCert, ...alice }),
    },
  });
  await call(g.createCellInfo.bind(g), { name: 'zone1', cellInfo: { serverAddress: cell.address, root } });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cell?.stop();
  await global?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('transport', () => {
  it('cell-topo reaches global-topo over mTLS and both reach etcd over TLS with client certificates', async () => {
    expect(etcd().endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    // Registration checks the keyspace against cell-topo's view of global-topo: it answers only once that view synced over mTLS.
    await call(cellAs(tablet100).registerTablet.bind(cellAs(tablet100)), registration(100, 'host-a'));
    const noCert = openStore({ backend: 'etcd', endpoints: etcd().endpoints, root: '/x', requestTimeoutMs: 1000, tls: { ca: ca.caCert } });
    await expect(noCert.get('anything')).rejects.toThrow();
    await noCert.close();
  });

  it('topoctl takes the CA, certificate and key', async () => {
    const topoctl = async (args: string[], env: Record<string, string> = {}) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: { write: (c: string | Uint8Array) => (stdout += String(c)) }, stderr: { write: (c: string | Uint8Array) => (stderr += String(c)) }, env };
      return { code: await run(['--global', global.address, ...args], io), stdout, stderr };
    };
    const tls = ['--grpc-ca', ca.caCert, '--grpc-cert', alice.cert, '--grpc-key', alice.key];
    expect(await topoctl(['keyspaces', 'list', ...tls])).toMatchObject({ code: 0, stdout: expect.stringContaining('ks') });
    expect(await topoctl(['keyspaces', 'list'], { TOPO_GRPC_CA: ca.caCert, TOPO_GRPC_CERT: router.cert, TOPO_GRPC_KEY: router.key })).toMatchObject({ code: 0 });
    expect(await topoctl(['keyspaces', 'create', 'nope', '--grpc-ca', ca.caCert, '--grpc-cert', router.cert, '--grpc-key', router.key])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('PERMISSION_DENIED'),
    });
    expect((await topoctl(['keyspaces', 'list', '--timeout', '2s'])).code).toBe(1);
  });

  it('the real grpcurl lists, describes and invokes with -cacert -cert -key', async () => {
    const tls = { ca: ca.caCert, ...alice };
    const list = await grpcurl(global.address, ['list'], { tls });
    expect(list.stdout).toContain('topo.global.v1.GlobalTopoService');
    const describe = await grpcurl(global.address, ['describe', 'topo.global.v1.GlobalTopoService.GetKeyspace'], { tls });
    expect(describe.stdout).toContain('rpc GetKeyspace');
    const invoke = await grpcurl(global.address, ['topo.global.v1.GlobalTopoService/ListKeyspaces'], { tls, data: {} });
    expect([invoke.code, invoke.stdout]).toEqual([0, expect.stringContaining('"ks"')]);
    const plaintext = await grpcurl(global.address, ['list'], {});
    expect(plaintext.code).not.toBe(0);
    const noCert = await grpcurl(global.address, ['list'], { tls: { ca: ca.caCert } });
    expect(noCert.code).not.toBe(0);
  });
});

describe('tablet identities', () => {
  it('write only the alias they name: zone1-100 may not register or update zone1-101', async () => {
    const c = cellAs(tablet100);
    const before = await cell.store.list('tablets/');
    const denied = [
      () => call(c.registerTablet.bind(c), registration(101, 'host-a')),
      () => call(c.createTablet.bind(c), { tablet: tablet(101) }),
      () => call(c.updateTabletFields.bind(c), { alias: 'zone1-101', hostname: 'evil', portMap: {}, tags: {}, version: '0' }),
      () => call(c.unregister.bind(c), { alias: 'zone1-101', session: 'x' }),
      () => call(c.deleteTablet.bind(c), { alias: 'zone1-100' }),
    ];
    for (const attempt of denied) expect(await codeOf(attempt())).toBe(status.PERMISSION_DENIED);
    expect(await cell.store.list('tablets/')).toEqual(before);

    const registered = await call(c.registerTablet.bind(c), registration(100, 'host-a'));
    await call(c.updateTabletFields.bind(c), { alias: 'zone1-100', hostname: 'host-100b', portMap: {}, tags: {}, version: '0' });
    await call(c.keepAlive.bind(c), { leaseId: registered.registered!.leaseId });
    const other = cellAs(tablet200);
    expect(await codeOf(call(other.keepAlive.bind(other), { leaseId: registered.registered!.leaseId }))).toBe(status.PERMISSION_DENIED);
  });

  it('records the identity as the registration holder', async () => {
    const alive = await cell.store.get('liveness/zone1-0000000100');
    expect(JSON.parse(Buffer.from(alive.contents).toString())).toMatchObject({ identity: 'spiffe://topo.test/tablet/zone1-100' });
  });

  it('a Register stream for another alias is cut before the handler sees it', async () => {
    const c = cellAs(tablet100);
    const stream = c.register();
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    stream.write({ event: { $case: 'register', value: registration(101, 'host-a').registration } });
    expect((await ended).code).toBe(status.PERMISSION_DENIED);
    await expect(cell.store.get('tablets/zone1-0000000101/Tablet')).rejects.toThrow(/doesn't exist|NoNode|node/i);
  });

  it('takeover of a live registration needs the same identity or an operator', async () => {
    const holder = cellAs(tablet100);
    await call(holder.registerTablet.bind(holder), registration(100, 'host-a'));
    const replacement = cellAs(otherHost);
    expect(await codeOf(call(replacement.registerTablet.bind(replacement), registration(100, 'host-b', true)))).toBe(status.PERMISSION_DENIED);
    // Reusing the holder's session name is a takeover in disguise.
    expect(await codeOf(call(replacement.registerTablet.bind(replacement), registration(100, 'host-a')))).toBe(status.PERMISSION_DENIED);
    expect(await codeOf(call(replacement.unregister.bind(replacement), { alias: 'zone1-100', session: 'host-a' }))).toBe(status.PERMISSION_DENIED);
    // Without takeover the registry's own answer stands: held by another session.
    expect(await codeOf(call(replacement.registerTablet.bind(replacement), registration(100, 'host-b')))).toBe(status.ALREADY_EXISTS);
    await call(holder.registerTablet.bind(holder), registration(100, 'host-a2', true));
    const operator = cellAs(alice);
    await call(operator.registerTablet.bind(operator), registration(100, 'ops', true));
  });

  it('read their own cell', async () => {
    const c = cellAs(tablet100);
    const listed = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 0, pageToken: '' });
    expect(listed.tablets.map((t) => t.tablet?.alias?.uid)).toContain(100);
  });
});

describe('router identities', () => {
  it('read and watch', async () => {
    const c = cellAs(router);
    const view = new CellTablets('zone1', c, () => undefined, { minMs: 20, maxMs: 200 });
    await view.ready();
    expect([...view.tablets.keys()]).toContain('zone1-0000000100');
    view.close();
    const g = globalAs(router);
    expect((await call(g.listKeyspaces.bind(g), {})).names).toEqual(['ks']);
  });

  it('get PERMISSION_DENIED for every write, and nothing changes', async () => {
    const g = globalAs(router);
    const c = cellAs(router);
    const gp = globalPathAs(router);
    const cp = cellPathAs(router);
    const beforeGlobal = await global.store.list('');
    const beforeCell = await cell.store.list('');
    const writes: Array<() => Promise<unknown>> = [
      () => call(g.createKeyspace.bind(g), { name: 'evil', keyspace: undefined }),
      () => call(g.updateShardFields.bind(g), UpdateShardFieldsRequest.fromPartial({ keyspace: 'ks', name: '0', primaryAlias: { cell: 'zone1', uid: 666 } })),
      () => call(g.deleteCellInfo.bind(g), { name: 'zone1', force: true }),
      () => call(g.acquireLock.bind(g), AcquireLockRequest.fromPartial({ target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks' }, action: 'x', ttl: { seconds: '10', nanos: 0 } })),
      () => call(g.listLocks.bind(g), {}),
      () => call(gp.delete.bind(gp), { path: 'cells/zone1/CellInfo', version: '0' }),
      () => call(gp.create.bind(gp), { path: 'keyspaces/evil/Keyspace', contents: Buffer.alloc(0) }),
      () => call(c.registerTablet.bind(c), registration(100, 'evil', true)),
      () => call(c.deleteTablet.bind(c), { alias: 'zone1-100' }),
      () => call(c.updateSrvKeyspace.bind(c), { keyspace: 'ks', srvKeyspace: SrvKeyspace.fromPartial({}) }),
      () => call(cp.update.bind(cp), { path: 'tablets/zone1-0000000100/Tablet', contents: Buffer.from('garbage'), version: '0' }),
    ];
    for (const [i, write] of writes.entries()) expect([i, await codeOf(write())]).toEqual([i, status.PERMISSION_DENIED]);
    expect(await global.store.list('')).toEqual(beforeGlobal);
    expect(await cell.store.list('')).toEqual(beforeCell);
  });
});

describe('operators and locks', () => {
  it('an operator may do everything, including the path API', async () => {
    const gp = globalPathAs(alice);
    const created = await call(gp.create.bind(gp), { path: 'internal/ops-note', contents: Buffer.from('hello') });
    await call(gp.delete.bind(gp), { path: 'internal/ops-note', version: created.version });
    const c = cellAs(alice);
    await call(c.createTablet.bind(c), { tablet: tablet(300) });
    await call(c.deleteTablet.bind(c), { alias: 'zone1-300' });
  });

  it('a lock records its holder, and only that identity or an operator may release it', async () => {
    const g = globalAs(alice);
    const { grant } = await call(g.acquireLock.bind(g), {
      target: { kind: LockKind.LOCK_KIND_SHARD, keyspace: 'ks', shard: '0', name: '', path: '' },
      holder: '',
      action: 'reparent',
      tryOnly: false,
      ttl: { seconds: '30', nanos: 0 },
      waitTimeout: undefined,
    });
    expect(grant?.info?.holder).toBe('spiffe://topo.test/operator/alice');
    const release = { lockId: grant!.lockId, fencingToken: grant!.fencingToken };
    for (const who of [router, tablet100]) {
      const other = globalAs(who);
      const err = await call(other.releaseLock.bind(other), release).catch((e: ServiceError) => e);
      expect([(err as ServiceError).code, (err as ServiceError).details]).toEqual([status.PERMISSION_DENIED, expect.stringContaining('operator/alice')]);
    }
    const locks = await call(g.listLocks.bind(g), {});
    expect(locks.locks.map((l) => l.lockId)).toContain(grant!.lockId);
    await call(g.releaseLock.bind(g), release);
  });
});

describe('the policy', () => {
  it('refuses an identity it does not name', async () => {
    const g = globalAs(stranger);
    const err = await call(g.listKeyspaces.bind(g), {}).catch((e: ServiceError) => e);
    expect([(err as ServiceError).code, (err as ServiceError).details]).toEqual([status.PERMISSION_DENIED, expect.stringContaining('nobody-in-the-policy')]);
  });

  it('is reloaded when its file changes, without a restart', async () => {
    const g = globalAs(router);
    await call(g.listKeyspaces.bind(g), {});
    try {
      writeFileSync(policyPath, JSON.stringify({ identities: POLICY.identities.filter((e) => !e.match.includes('/router/')) }));
      await until('the router to lose its role', async () => (await outcome(call(g.listKeyspaces.bind(g), {}))) === status.PERMISSION_DENIED, 5000);
      // A policy that does not parse leaves the last good one in force.
      writeFileSync(policyPath, '{ not json');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await codeOf(call(g.listKeyspaces.bind(g), {}))).toBe(status.PERMISSION_DENIED);
    } finally {
      writeFileSync(policyPath, JSON.stringify(POLICY));
    }
    await until('the router to have its role back', () => call(g.listKeyspaces.bind(g), {}).then(() => true, () => false), 5000);
  });
});

describe('records that cannot be poisoned', () => {
  it('ListTablets skips a record written around the checks, and says so', async () => {
    await cell.store.create('tablets/zone1-0000000666/Tablet', Buffer.from('garbage'));
    const c = cellAs(alice);
    const listed = await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 0, pageToken: '' });
    expect(listed.undecodable).toEqual(['tablets/zone1-0000000666/Tablet']);
    expect(listed.tablets.map((t) => t.tablet?.alias?.uid)).toContain(100);
    // Through the path API even an operator cannot write one.
    const p = cellPathAs(alice);
    expect(await codeOf(call(p.create.bind(p), { path: 'tablets/zone1-0000000667/Tablet', contents: Buffer.from('garbage') }))).toBe(status.INVALID_ARGUMENT);
    await cell.store.delete('tablets/zone1-0000000666/Tablet', null);
  });
});
