import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { PathServiceClient } from '../../libs/proto/gen/topo/path/v1/path';
import { GlobalTopoServiceClient, LockKind } from '../../libs/proto/gen/topo/global/v1/global';
import { openStore } from '../../libs/store';
import { call, StreamReader } from '../../libs/testing/grpc-call';

const etcd = useEtcdCluster({ members: 1 });

/** The real global-topo process, as `make up` runs it. */
function startProcess(endpoint: string, root: string) {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', require.resolve('./main.ts'), '--etcd-endpoints', endpoint, '--listen', '127.0.0.1:0', '--root', root],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Array<Record<string, unknown>> = [];
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'serving') resolve(entry.port as number);
    });
    child.once('exit', (code) => reject(new Error(`global-topo exited with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, logs, exited };
}

describe('global-topo process', () => {
  it('on SIGTERM ends its streams (locks and pushed watches) as UNAVAILABLE, releases the locks they held, and exits 0', async () => {
    const root = `/test/shutdown-${process.pid}`;
    const proc = startProcess(etcd().endpoints[0], root);
    const client = new GlobalTopoServiceClient(`127.0.0.1:${await proc.port}`, credentials.createInsecure());
    const store = openStore({ backend: 'etcd', endpoints: etcd().endpoints, root });
    try {
      await call(client.createKeyspace.bind(client), { name: 'ks', keyspace: undefined });
      const lock = new StreamReader(
        client.lock(
          { target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks', shard: '', name: '', path: '' }, holder: 'h', action: 'a', tryOnly: false },
          new Metadata(),
        ),
      );
      const granted = await lock.next();
      expect(granted.event?.$case).toBe('granted');
      expect((await store.list('keyspaces/ks/locks/')).length).toBe(1);
      const path = new PathServiceClient(`127.0.0.1:${await proc.port}`, credentials.createInsecure());
      const watch = new StreamReader(path.watchRecursive({ path: 'keyspaces', fromRevision: '0' }, new Metadata()));
      expect((await watch.next()).snapshot).toBe(true);

      proc.child.kill('SIGTERM');
      const closed = (await lock.closed()) as { code?: number };
      expect(closed.code).toBe(status.UNAVAILABLE);
      expect(((await watch.closed()) as { code?: number }).code).toBe(status.UNAVAILABLE);
      path.close();
      expect(await proc.exited).toBe(0);
      // Released at once, not after the 30 s lease TTL.
      expect(await store.list('keyspaces/ks/locks/')).toEqual([]);
      expect(proc.logs.map((entry) => entry.msg)).toEqual(expect.arrayContaining(['serving', 'shutting down', 'stopped']));
    } finally {
      client.close();
      proc.child.kill('SIGKILL');
      await store.close();
    }
  }, 60_000);

  it('refuses a bad flag with exit code 2 and says why', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', require.resolve('./main.ts'), '--etcd-endpoints', 'http://127.0.0.1:1', '--lock-ttl', 'soon'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('--lock-ttl must be a whole number');
  }, 30_000);
});
