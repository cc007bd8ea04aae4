import { credentials, type ChannelCredentials, type Client } from '@grpc/grpc-js';
import { PathServiceClient } from '../proto/gen/topo/path/v1/path';
import type { TopoServer } from '../server';

export interface Served<C> {
  address: string;
  client: C;
  path: PathServiceClient;
  /** Another client on its own connection, as another process would have. */
  newClient(): C;
  /** Closes every client, then shuts the server down. */
  stop(): Promise<void>;
}

/** Clients for an in-process server started by a test fixture, all closed by `stop()`. */
export function served<C extends Client>(
  server: TopoServer,
  ClientOf: new (address: string, creds: ChannelCredentials) => C,
  /** The clients' credentials; default plaintext. */
  channel: ChannelCredentials = credentials.createInsecure(),
): Served<C> {
  const address = `127.0.0.1:${server.port}`;
  const clients: Client[] = [];
  const newClient = (): C => {
    const client = new ClientOf(address, channel);
    clients.push(client);
    return client;
  };
  const path = new PathServiceClient(address, channel);
  clients.push(path);
  return {
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
