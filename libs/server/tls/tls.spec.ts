import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { CertificateAuthority, type CertificateFiles } from '../../../deploy/tls/certificate-authority';
import { channelCredentials, type ClientTlsFiles } from '../../client/channel-credentials';
import { HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { PathServiceClient } from '../../proto/gen/topo/path/v1/path';
import { openStore } from '../../store';
import { call, codeOf } from '../../testing/grpc-call';
import { grpcurl } from '../../testing/grpcurl';
import { until } from '../../testing/until';
import type { ServerConfig } from '../config';
import type { CallTracker } from '../handlers';
import { Logger } from '../logger';
import { PATH_SERVICE_NAME, pathService } from '../path-service';
import { serviceWatchHub } from '../service-hub';
import { TopoServer } from '../topo-server';
import { identityOf, type ServerTlsFiles } from '.';

let dir: string;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let serverCert: CertificateFiles;
let operator: CertificateFiles;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'topo-tls-'));
  ca = CertificateAuthority.create(join(dir, 'ca'));
  otherCa = CertificateAuthority.create(join(dir, 'other-ca'), 'some other CA');
  serverCert = ca.issue('server', { commonName: 'global-topo', loopback: true });
  operator = ca.issue('operator', { commonName: 'alice', uri: 'spiffe://topo.test/operator/alice' });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  server: TopoServer;
  address: string;
  /** Calls that reached a handler. */
  handled: () => number;
  clients: Array<{ close(): void }>;
  path(tls?: ClientTlsFiles): PathServiceClient;
}

let running: Running | undefined;

afterEach(async () => {
  for (const client of running?.clients ?? []) client.close();
  await running?.server.shutdown();
  running = undefined;
});

async function start(tls: ServerTlsFiles | undefined, extra: Partial<ServerConfig> = {}): Promise<Running> {
  const store = openStore({ backend: 'memory', root: '/tls-test' });
  await store.create('cells/zone1/CellInfo', new Uint8Array());
  let handled = 0;
  const config: ServerConfig = {
    listen: '127.0.0.1:0',
    backend: 'memory',
    etcdEndpoints: [],
    root: '/tls-test',
    lockTtlSeconds: 30,
    requestTimeoutMs: 2000,
    shutdownGraceMs: 500,
    logLevel: 'error',
    extra: {},
    ...(tls ? { tls } : {}),
    ...extra,
  };
  const server = await TopoServer.start({
    config,
    store,
    log: new Logger({}, 'error'),
    tlsReloadIntervalMs: 50,
    services: (tracker: CallTracker) => {
      const { definition, implementation } = pathService(store, tracker, serviceWatchHub(store, tracker));
      const counted = Object.fromEntries(
        Object.entries(implementation).map(([name, handler]) => [
          name,
          (...args: unknown[]) => {
            handled++;
            return (handler as (...a: unknown[]) => unknown)(...args);
          },
        ]),
      );
      return [{ name: PATH_SERVICE_NAME, definition, implementation: counted }];
    },
  });
  const address = `127.0.0.1:${server.port}`;
  const clients: Array<{ close(): void }> = [];
  running = {
    server,
    address,
    handled: () => handled,
    clients,
    path: (files) => {
      const client = new PathServiceClient(address, files ? channelCredentials(files) : credentials.createInsecure());
      clients.push(client);
      return client;
    },
  };
  return running;
}

/** A read that succeeds once it reaches its handler. */
const listDir = (client: PathServiceClient) => call(client.listDir.bind(client), { path: 'cells' }, 3000);

/** The CN of the certificate a fresh TLS connection to the server is offered. */
function servedCommonName(port: number, client: CertificateFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(ca.caCert),
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
      ALPNProtocols: ['h2'],
      servername: 'localhost',
    });
    socket.once('secureConnect', () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve((Array.isArray(cn) ? cn[0] : cn) ?? '');
    });
    socket.once('error', reject);
  });
}

describe('mTLS on the gRPC port', () => {
  const mtls = (): ServerTlsFiles => ({ ...serverCert, ca: ca.caCert });

  it('serves a client whose certificate the CA signed', async () => {
    const served = await start(mtls());
    await expect(listDir(served.path({ ca: ca.caCert, ...operator }))).resolves.toMatchObject({ entries: [{ name: 'zone1' }] });
    expect(served.handled()).toBe(1);
  });

  it.each([
    ['no client certificate', (): ClientTlsFiles => ({ ca: ca.caCert })],
    ['a certificate from another CA', (): ClientTlsFiles => ({ ca: ca.caCert, ...otherCa.issue('intruder', { commonName: 'alice' }) })],
    ['an expired certificate', (): ClientTlsFiles => ({ ca: ca.caCert, ...ca.issueExpired('expired', { commonName: 'alice' }) })],
  ])('refuses %s at the handshake: no handler runs', async (_what, files) => {
    const served = await start(mtls());
    const err = await listDir(served.path(files())).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
    expect(served.handled()).toBe(0);
  });

  it('refuses a revoked certificate listed in --grpc-crl', async () => {
    const revoked = ca.issue('revoked', { commonName: 'mallory' });
    ca.revoke(revoked);
    const crl = ca.writeCrl(join(dir, 'revoked.crl'));
    const served = await start({ ...mtls(), crl });
    expect(await codeOf(listDir(served.path({ ca: ca.caCert, ...revoked })))).toBe(status.UNAVAILABLE);
    await expect(listDir(served.path({ ca: ca.caCert, ...operator }))).resolves.toBeDefined();
    expect(served.handled()).toBe(1);
  });

  it('refuses plaintext on a TLS port', async () => {
    const served = await start(mtls());
    expect(await codeOf(listDir(served.path()))).toBe(status.UNAVAILABLE);
    expect(served.handled()).toBe(0);
  });

  it('serves TLS without client certificates when --grpc-ca is not set', async () => {
    const served = await start({ ...serverCert });
    await expect(listDir(served.path({ ca: ca.caCert }))).resolves.toBeDefined();
    expect(await codeOf(listDir(served.path()))).toBe(status.UNAVAILABLE);
  });
});

describe('certificate rotation without a restart', () => {
  it('serves a renewed certificate to new connections once its files change', async () => {
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(serverCert.cert, live.cert);
    copyFileSync(serverCert.key, live.key);
    const served = await start({ ...live, ca: ca.caCert });
    expect(await servedCommonName(served.server.port, operator)).toBe('global-topo');

    const renewed = ca.issue('renewed', { commonName: 'global-topo-renewed', loopback: true });
    copyFileSync(renewed.key, live.key);
    copyFileSync(renewed.cert, live.cert);
    await until('the renewed certificate', async () => (await servedCommonName(served.server.port, operator)) === 'global-topo-renewed', 5000);
    await expect(listDir(served.path({ ca: ca.caCert, ...operator }))).resolves.toBeDefined();
  });

  it('refuses a certificate revoked after start once the CRL file is rewritten', async () => {
    const victim = ca.issue('later-revoked', { commonName: 'bob' });
    const crl = ca.writeCrl(join(dir, 'live.crl'));
    const served = await start({ ...serverCert, ca: ca.caCert, crl });
    await expect(listDir(served.path({ ca: ca.caCert, ...victim }))).resolves.toBeDefined();

    ca.revoke(victim);
    ca.writeCrl(crl);
    const outcome = (): Promise<status> => listDir(served.path({ ca: ca.caCert, ...victim })).then(() => status.OK, (e: ServiceError) => e.code);
    await until('the revocation', async () => (await outcome()) === status.UNAVAILABLE, 5000);
    await expect(listDir(served.path({ ca: ca.caCert, ...operator }))).resolves.toBeDefined();
  });

  it('keeps the last good files when a change does not load', async () => {
    const live = { cert: join(dir, 'half.crt'), key: join(dir, 'half.key') };
    copyFileSync(serverCert.cert, live.cert);
    copyFileSync(serverCert.key, live.key);
    const served = await start({ ...live, ca: ca.caCert });
    // A key that does not match the certificate, as a half-finished renewal leaves it.
    copyFileSync(operator.key, live.key);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await servedCommonName(served.server.port, operator)).toBe('global-topo');
    await expect(listDir(served.path({ ca: ca.caCert, ...operator }))).resolves.toBeDefined();
  });
});

describe('--health-listen', () => {
  it('answers grpc.health.v1 in plaintext and serves nothing else', async () => {
    const served = await start({ ...serverCert, ca: ca.caCert }, { healthListen: '127.0.0.1:0' });
    const healthAddress = `127.0.0.1:${served.server.healthPort!}`;
    const health = new HealthClient(healthAddress, credentials.createInsecure());
    const path = new PathServiceClient(healthAddress, credentials.createInsecure());
    served.clients.push(health, path);
    await expect(call(health.check.bind(health), { service: '' })).resolves.toEqual({ status: 1 });
    expect(await codeOf(listDir(path))).toBe(status.UNIMPLEMENTED);
    expect(served.handled()).toBe(0);
    const listed = await grpcurl(healthAddress, ['list']);
    expect(listed.stdout.trim().split('\n').filter((name) => !name.startsWith('grpc.reflection.'))).toEqual(['grpc.health.v1.Health']);
  });
});

describe('identityOf', () => {
  const cert = (fields: Record<string, unknown>) => ({ sslPeerCertificate: fields as never });

  it('takes the first URI SAN, else the subject CN, else nothing', () => {
    expect(identityOf(cert({ subject: { CN: 'alice' }, subjectaltname: 'DNS:localhost, URI:spiffe://a/b, URI:spiffe://c' }))).toBe('spiffe://a/b');
    expect(identityOf(cert({ subject: { CN: 'alice' }, subjectaltname: 'URI:"spiffe://a/b,c"' }))).toBe('spiffe://a/b,c');
    expect(identityOf(cert({ subject: { CN: 'alice' }, subjectaltname: 'DNS:localhost' }))).toBe('alice');
    expect(identityOf(cert({}))).toBeUndefined();
    expect(identityOf({})).toBeUndefined();
  });
});
