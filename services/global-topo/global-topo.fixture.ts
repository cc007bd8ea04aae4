import type { ChannelCredentials } from '@grpc/grpc-js';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import type { ServerTlsFiles } from '../../libs/server/tls';
import { Logger, PATH_SERVICE_NAME, TopoServer, pathService, serviceWatchHub } from '../../libs/server';
import { openStore, type Store } from '../../libs/store';
import { served, type Served } from '../../libs/testing/served';
import { GlobalTopology } from '../../libs/topo';
import { globalTopoService } from './global-topo-service';

let roots = 0;

/** TLS and authorization for a fixture's server, its store and its clients (docs/security.md). */
export interface FixtureSecurity {
  tls?: ServerTlsFiles;
  authzPolicy?: string;
  etcdTls?: { cert: string; key: string; ca: string };
  clientCredentials?: ChannelCredentials;
}

export interface GlobalTopoFixture extends Served<GlobalTopoServiceClient> {
  server: TopoServer;
  store: Store;
}

/** An in-process global-topo on a loopback port over the given etcd, with its own root. */
export async function startGlobalTopo(
  endpoints: string[],
  options: { lockTtlSeconds?: number; listen?: string; root?: string; security?: FixtureSecurity } = {},
): Promise<GlobalTopoFixture> {
  // Replicas of one global topology share a root.
  const root = options.root ?? `/test/${process.pid}-${++roots}/global`;
  const security = options.security ?? {};
  const store = openStore({
    backend: 'etcd',
    endpoints,
    root,
    lockTtlSeconds: options.lockTtlSeconds,
    requestTimeoutMs: 2000,
    tls: security.etcdTls,
  });
  const server = await TopoServer.start({
    config: {
      listen: options.listen ?? '127.0.0.1:0',
      backend: 'etcd',
      etcdEndpoints: endpoints,
      root,
      lockTtlSeconds: options.lockTtlSeconds ?? 30,
      requestTimeoutMs: 2000,
      shutdownGraceMs: 2000,
      logLevel: 'error',
      extra: {},
      ...(security.tls ? { tls: security.tls } : {}),
      ...(security.authzPolicy ? { authzPolicy: security.authzPolicy } : {}),
    },
    store,
    log: new Logger({}, 'error'),
    healthProbeIntervalMs: 200,
    services: (tracker) => [
      globalTopoService(new GlobalTopology(store), tracker),
      { name: PATH_SERVICE_NAME, ...pathService(store, tracker, serviceWatchHub(store, tracker)) },
    ],
  });
  return { server, store, ...served(server, GlobalTopoServiceClient, security.clientCredentials) };
}
