import { ConfigError, parseConfig } from './config';

const defaults = { listen: '127.0.0.1:15999', root: '/topo/global' };
const parse = (...argv: string[]) => parseConfig(['--backend', 'memory', ...argv], {}, defaults)!;

describe('security flags', () => {
  it('read Vitess names for TLS, the health listener and the policy, from flags or environment', () => {
    const config = parse('--grpc-cert', 'c.pem', '--grpc-key', 'k.pem', '--grpc-ca', 'ca.pem', '--grpc-crl', 'crl.pem', '--health-listen', '0.0.0.0:15998', '--authz-policy', 'p.json');
    expect(config).toMatchObject({
      tls: { cert: 'c.pem', key: 'k.pem', ca: 'ca.pem', crl: 'crl.pem' },
      healthListen: '0.0.0.0:15998',
      authzPolicy: 'p.json',
    });
    const fromEnv = parseConfig(['--backend', 'memory'], { TOPO_GRPC_CERT: 'c', TOPO_GRPC_KEY: 'k' }, defaults)!;
    expect(fromEnv.tls).toEqual({ cert: 'c', key: 'k' });
    expect(parse().tls).toBeUndefined();
  });

  it('read etcd TLS and user/password, the password from the environment', () => {
    const config = parseConfig(
      ['--etcd-endpoints', 'https://127.0.0.1:2379', '--etcd-tls-cert', 'c', '--etcd-tls-key', 'k', '--etcd-tls-ca', 'ca', '--etcd-user', 'topo'],
      { TOPO_ETCD_PASSWORD: 'secret' },
      defaults,
    )!;
    expect(config).toMatchObject({ etcdTls: { cert: 'c', key: 'k', ca: 'ca' }, etcdAuth: { username: 'topo', password: 'secret' } });
  });

  it.each([
    [['--grpc-cert', 'c'], /go together/],
    [['--grpc-ca', 'ca'], /need --grpc-cert/],
    [['--grpc-cert', 'c', '--grpc-key', 'k', '--grpc-crl', 'crl'], /--grpc-crl needs --grpc-ca/],
    [['--grpc-cert', 'c', '--grpc-key', 'k', '--authz-policy', 'p'], /--authz-policy needs --grpc-ca/],
    [['--health-listen', 'nowhere'], /--health-listen must be host:port/],
    [['--etcd-user', 'topo'], /go together/],
    [['--etcd-tls-cert', 'c', '--etcd-tls-key', 'k'], /--etcd-tls-ca is required/],
  ])('refuse %j', (argv, message) => {
    expect(() => parse(...(argv as string[]))).toThrow(ConfigError);
    expect(() => parse(...(argv as string[]))).toThrow(message);
  });

  it('refuse etcd TLS with http endpoints', () => {
    expect(() =>
      parseConfig(['--etcd-endpoints', 'http://127.0.0.1:2379', '--etcd-tls-ca', 'ca'], {}, defaults),
    ).toThrow(/https:\/\//);
  });
});
