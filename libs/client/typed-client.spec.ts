import { status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { pickFreePorts } from '../../deploy/etcd/free-ports';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { globalTopoClient } from './typed-client';

const etcd = useEtcdCluster({ members: 1 });

describe('typed clients', () => {
  it('retry reads through a brief outage, never writes, and put a deadline on every call', async () => {
    const [port] = await pickFreePorts(1, '127.0.0.1');
    const client = globalTopoClient(`127.0.0.1:${port}`, { readAttempts: 20, deadlineMs: 2000 });
    try {
      const write = client.createKeyspace({ name: 'ks', keyspace: undefined });
      await expect(write).rejects.toMatchObject({ code: status.UNAVAILABLE });
      const read = client.listKeyspaces({});
      const server = await startGlobalTopo(etcd().endpoints, { listen: `127.0.0.1:${port}` });
      try {
        expect((await read).names).toEqual([]);
        await client.createKeyspace({ name: 'ks', keyspace: undefined });
        expect((await client.getKeyspace({ name: 'ks' })).version).not.toBe('0');
        await expect(client.getKeyspace({ name: 'missing' })).rejects.toMatchObject({ code: status.NOT_FOUND });
        // A server stuck on a frozen etcd: the client's deadline ends the call.
        const impatient = globalTopoClient(`127.0.0.1:${port}`, { deadlineMs: 300, readAttempts: 1 });
        etcd().members[0].pause();
        try {
          const started = Date.now();
          await expect(impatient.getKeyspace({ name: 'ks' })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
          expect(Date.now() - started).toBeLessThan(1500);
        } finally {
          etcd().members[0].resume();
          impatient.close();
        }
      } finally {
        await server.stop();
      }
    } finally {
      client.close();
    }
  });
});
