import type { ClientTlsFiles } from '../../libs/client/channel-credentials';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import type { FixtureSecurity } from '../global-topo/global-topo.fixture';
import { Logger, TopoServer, serviceWatchHub } from '../../libs/server';
import { ServingStatus } from '../../libs/server/health';
import { openStore, type Store } from '../../libs/store';
import { served, type Served } from '../../libs/testing/served';
import type { WatchHub, WatchHubOptions } from '../../libs/watch';
import { call } from '../../libs/testing/grpc-call';
import { startGlobalTopo, type GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { cellTopoServices } from './cell-topo-wiring';

export interface CellTopoFixture extends Served<CellTopoServiceClient> {
  server: TopoServer;
  hub: WatchHub;
  store: Store;
}

/** An in-process cell-topo on a loopback port over the given etcd (or memory) and root. */
export async function startCellTopo(options: {
  endpoints: string[];
  root: string;
  cell: string;
  globalAddress: string;
  backend?: 'etcd' | 'memory';
  hub?: WatchHubOptions;
  tabletTtlSeconds?: number;
  security?: FixtureSecurity & { globalTls?: ClientTlsFiles };
}): Promise<CellTopoFixture> {
  const backend = options.backend ?? 'etcd';
  const security = options.security ?? {};
  const store = openStore({ backend, endpoints: options.endpoints, root: options.root, requestTimeoutMs: 2000, tls: security.etcdTls });
  let hub: WatchHub | undefined;
  const server = await TopoServer.start({
    config: {
      listen: '127.0.0.1:0',
      backend,
      etcdEndpoints: options.endpoints,
      root: options.root,
      lockTtlSeconds: 30,
      requestTimeoutMs: 2000,
      shutdownGraceMs: 1000,
      logLevel: 'error',
      extra: { cell: options.cell },
      ...(security.tls ? { tls: security.tls } : {}),
      ...(security.authzPolicy ? { authzPolicy: security.authzPolicy } : {}),
    },
    store,
    log: new Logger({}, 'error'),
    healthProbeIntervalMs: 100,
    services: (tracker) => {
      hub = serviceWatchHub(store, tracker, options.hub);
      return cellTopoServices(store, tracker, {
        cell: options.cell,
        globalAddress: options.globalAddress,
        defaultTabletTtlSeconds: options.tabletTtlSeconds,
        globalTls: security.globalTls,
      }, hub);
    },
  });
  // Ready once it knows the global topology, as a load balancer would wait for.
  for (let i = 0; server.health.status('') !== ServingStatus.SERVING; i++) {
    if (i > 500) throw new Error('cell-topo never became ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { server, hub: hub!, store, ...served(server, CellTopoServiceClient, security.clientCredentials) };
}

/** A global-topo over the given etcd with keyspace `ks` and these shards, as cell-topo tests need. */
export async function startGlobalWithKeyspace(endpoints: string[], shards: string[] = ['-80']): Promise<GlobalTopoFixture> {
  const global = await startGlobalTopo(endpoints);
  const g = global.client;
  await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
  for (const shard of shards) await call(g.createShard.bind(g), { keyspace: 'ks', name: shard });
  return global;
}
