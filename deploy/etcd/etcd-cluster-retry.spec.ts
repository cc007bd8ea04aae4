import { createServer, type Server } from 'node:net';
import { EtcdCluster } from './etcd-cluster';
import { pickFreePorts } from './free-ports';

// Only the port picker is replaced, to lose the race with another process on purpose;
// etcd is real and really fails to bind.
jest.mock('./free-ports', () => {
  const actual = jest.requireActual<typeof import('./free-ports')>('./free-ports');
  return { pickFreePorts: jest.fn(actual.pickFreePorts) };
});

const picker = jest.mocked(pickFreePorts);

function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve(server));
  });
}

it('starts on fresh ports when a picked port is taken before etcd binds it', async () => {
  const blocker = await listenOnFreePort();
  const takenPort = (blocker.address() as { port: number }).port;
  const actual = jest.requireActual<typeof import('./free-ports')>('./free-ports');
  picker.mockImplementationOnce(async (count, host, exclude) => {
    const ports = await actual.pickFreePorts(count, host, exclude);
    ports[0] = takenPort;
    return ports;
  });
  try {
    const cluster = await EtcdCluster.start();
    try {
      expect(picker).toHaveBeenCalledTimes(2);
      expect(cluster.endpoints[0]).not.toBe(`http://127.0.0.1:${takenPort}`);
      expect(cluster.members[0].running).toBe(true);
    } finally {
      await cluster.stop();
    }
  } finally {
    blocker.close();
  }
});
