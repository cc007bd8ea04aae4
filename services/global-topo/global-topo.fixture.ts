import { credentials } from '@grpc/grpc-js';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import { PathServiceClient } from '../../libs/proto/gen/topo/path/v1/path';
import { Logger, PATH_SERVICE_NAME, TopoServer, pathService } from '../../libs/server';
import { openStore, type Store } from '../../libs/store';
import { GlobalTopology } from '../../libs/topo';
import { globalTopoService } from './global-topo-service';

let roots = 0;

export interface GlobalTopoFixture {
  server: TopoServer;
  store: Store;
  address: string;
  client: GlobalTopoServiceClient;
  path: PathServiceClient;
  /** A second client on its own connection, as another process would have. */
  newClient(): GlobalTopoServiceClient;
  stop(): Promise<void>;
}

/** An in-process global-topo on a loopback port over the given etcd, with its own root. */
export async function startGlobalTopo(
  endpoints: string[],
  options: { lockTtlSeconds?: number; listen?: string } = {},
): Promise<GlobalTopoFixture> {
  const root = `/test/${process.pid}-${++roots}/global`;
  const store = openStore({ backend: 'etcd', endpoints, root, lockTtlSeconds: options.lockTtlSeconds, requestTimeoutMs: 2000 });
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
    },
    store,
    log: new Logger({}, 'error'),
    healthProbeIntervalMs: 200,
    services: (tracker) => [
      globalTopoService(new GlobalTopology(store), tracker),
      { name: PATH_SERVICE_NAME, ...pathService(store, tracker) },
    ],
  });
  const address = `127.0.0.1:${server.port}`;
  const clients: Array<{ close(): void }> = [];
  const newClient = (): GlobalTopoServiceClient => {
    const client = new GlobalTopoServiceClient(address, credentials.createInsecure());
    clients.push(client);
    return client;
  };
  const path = new PathServiceClient(address, credentials.createInsecure());
  clients.push(path);
  return {
    server,
    store,
    address,
    client: newClient(),
    path,
    newClient,
    async stop() {
      for (const client of clients) client.close();
      await server.shutdown();
    },
  };
}
