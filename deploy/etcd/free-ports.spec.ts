import { createServer } from 'node:net';
import { pickFreePorts } from './free-ports';

describe('pickFreePorts', () => {
  it('returns distinct ports, none of the excluded ones, that can then be bound', async () => {
    const [excluded] = await pickFreePorts(1, '127.0.0.1');
    const ports = await pickFreePorts(12, '127.0.0.1', [excluded]);

    expect(new Set(ports).size).toBe(12);
    expect(ports).not.toContain(excluded);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1' }, resolve);
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
