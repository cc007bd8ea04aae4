import type { ClusterLayout, MemberLayout } from './cluster-layout';
import type { EtcdTlsFiles } from './cluster-options';

export function httpUrl(host: string, port: number): string {
  return `http://${host}:${port}`;
}

/** A member's client URL: https when the cluster serves clients over TLS. */
export function clientUrlOf(host: string, port: number, tls: EtcdTlsFiles | undefined): string {
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}

/**
 * The full etcd command line for one member. Every setting that matters is explicit, so
 * Debian's packaging defaults and ETCD_* variables never decide anything. `extraFlags`
 * come last: etcd's flag parser keeps the last value, so they override the defaults here.
 */
export function memberFlags(
  layout: ClusterLayout,
  member: MemberLayout,
  host: string,
  memberDataDir: string,
  extraFlags: readonly string[],
  tls?: EtcdTlsFiles,
): string[] {
  const clientUrl = clientUrlOf(host, member.clientPort, tls);
  const peerUrl = httpUrl(host, member.peerPort);
  const initialCluster = layout.members
    .map((m) => `${m.name}=${httpUrl(host, m.peerPort)}`)
    .join(',');
  return [
    `--name=${member.name}`,
    `--data-dir=${memberDataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    // Ignored by etcd once the member's data dir exists, so restarts reuse the same flags.
    '--initial-cluster-state=new',
    `--initial-cluster-token=${layout.token}`,
    // No extra metrics listener: /metrics stays on the loopback client URL.
    '--listen-metrics-urls=',
    '--enable-v2=false',
    '--enable-pprof=false',
    // Tests compact explicitly; automatic compaction would make revision history flaky.
    '--auto-compaction-retention=0',
    // Loopback peers: short timeouts make elections and fail-over fast in tests.
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--logger=zap',
    '--log-outputs=stderr',
    ...(tls
      ? [`--cert-file=${tls.cert}`, `--key-file=${tls.key}`, `--trusted-ca-file=${tls.ca}`, '--client-cert-auth=true']
      : []),
    ...extraFlags,
  ];
}
