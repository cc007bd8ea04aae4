import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { TopoStore } from '../core/topo-store';
import { TopoErrorCode } from '../errors';
import type { RecursiveBatch, Store } from '../store';
import { EtcdEngine } from './etcd-engine';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const str = (value: Uint8Array): string => new TextDecoder().decode(value);
let roots = 0;

function openStore(endpoints: string[], lockTtlSeconds?: number): Store {
  return new TopoStore(new EtcdEngine({ endpoints, requestTimeoutMs: 2000 }), {
    root: `/faults/${process.pid}-${++roots}`,
    lockTtlSeconds,
  });
}

/** Retries a write until etcd answers again, as a caller riding out an outage would. */
async function writeEventually(store: Store, path: string, value: string): Promise<bigint> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.update(path, text(value), null);
    } catch (err) {
      if ((err as { code?: string }).code !== TopoErrorCode.Unavailable || attempt > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Collects puts from a recursive watch until `count` have arrived. */
async function collect(
  changes: AsyncIterable<RecursiveBatch>,
  count: number,
): Promise<Array<{ path: string; value: string; revision: bigint }>> {
  const seen: Array<{ path: string; value: string; revision: bigint }> = [];
  for await (const batch of changes) {
    for (const change of batch.changes) {
      if (change.type === 'put') seen.push({ path: change.path, value: str(change.contents), revision: batch.revision });
    }
    if (seen.length >= count) break;
  }
  return seen;
}

describe('etcd plugin under etcd faults: single member', () => {
  const etcd = useEtcdCluster({ members: 1 });

  it('keeps a recursive watch through SIGKILL and restart of etcd: every write seen once, in order', async () => {
    const store = openStore(etcd().endpoints);
    try {
      const watch = await store.watchRecursive('tablets');
      const collecting = collect(watch.changes, 60);
      const written: bigint[] = [];
      for (let i = 0; i < 30; i++) written.push(await store.update(`tablets/t${i % 7}/Tablet`, text(`before-${i}`), null));
      await etcd().members[0].kill();
      const restarting = etcd().members[0].restart();
      for (let i = 30; i < 60; i++) written.push(await writeEventually(store, `tablets/t${i % 7}/Tablet`, `after-${i}`));
      await restarting;
      const seen = await collecting;
      expect(seen.map((s) => s.value)).toEqual([
        ...Array.from({ length: 30 }, (_, i) => `before-${i}`),
        ...Array.from({ length: 30 }, (_, i) => `after-${i + 30}`),
      ]);
      expect(seen.map((s) => s.revision)).toEqual(written);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('loses the lock of a frozen holder when its lease expires, and refuses its next fenced write', async () => {
    const store = openStore(etcd().endpoints);
    await store.create('keyspaces/ks1/Keyspace', text('initial'));
    const holder = spawnHolder(etcd().endpoints[0], store.root, 2);
    try {
      const staleToken = BigInt((await holder.line(/^locked /)).split(' ')[1]);
      expect(await holder.command('write by holder', /^write /)).toBe('write ok');
      holder.child.kill('SIGSTOP');
      const started = Date.now();
      const next = await store.lock('keyspaces/ks1', 'next holder', { timeoutMs: 10_000 });
      // Granted only once the frozen holder's 2 s lease has run out.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(next.token > staleToken).toBe(true);
      holder.child.kill('SIGCONT');
      expect(await holder.command('write after expiry', /^write /)).toBe(`write ${TopoErrorCode.LockLost}`);
      await holder.line(/^lost$/);
      expect(str((await store.get('keyspaces/ks1/Keyspace')).contents)).toBe('by holder');
      await store.update('keyspaces/ks1/Keyspace', text('write by next'), null, { fence: next.fence });
      expect(str((await store.get('keyspaces/ks1/Keyspace')).contents)).toBe('write by next');
      await next.unlock();
    } finally {
      holder.child.kill('SIGKILL');
      await store.close();
    }
  }, 60_000);

  it('reports etcd down as Unavailable, and serves again once it is back', async () => {
    const store = openStore(etcd().endpoints);
    try {
      await store.create('a/file', text('before'));
      await etcd().members[0].stop();
      expect(await store.get('a/file').then(() => 'ok', (err: { code?: string }) => err.code)).toBe(TopoErrorCode.Unavailable);
      await etcd().members[0].restart();
      await writeEventually(store, 'a/file', 'after');
      expect(str((await store.get('a/file')).contents)).toBe('after');
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('etcd plugin under etcd faults: three members', () => {
  const etcd = useEtcdCluster({ members: 3 });

  it('keeps a recursive watch and writes going while members are killed and restarted one by one', async () => {
    const store = openStore(etcd().endpoints);
    try {
      const watch = await store.watchRecursive('cells');
      const collecting = collect(watch.changes, 90);
      const written: bigint[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 15; i++) written.push(await writeEventually(store, `cells/c${i % 4}/CellInfo`, `r${round}-${i}`));
        await etcd().members[round].kill();
        for (let i = 15; i < 30; i++) written.push(await writeEventually(store, `cells/c${i % 4}/CellInfo`, `r${round}-${i}`));
        await etcd().members[round].restart();
      }
      const seen = await collecting;
      expect(seen.map((s) => s.revision)).toEqual(written);
      expect(new Set(seen.map((s) => s.revision)).size).toBe(90);
    } finally {
      await store.close();
    }
  }, 120_000);
});

interface Holder {
  child: ChildProcessWithoutNullStreams;
  line(pattern: RegExp): Promise<string>;
  command(command: string, reply: RegExp): Promise<string>;
}

function spawnHolder(endpoint: string, root: string, ttlSeconds: number): Holder {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', require.resolve('./lock-holder.fixture.ts'), endpoint, root, String(ttlSeconds)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const index = waiters.findIndex((w) => w.pattern.test(line));
    if (index >= 0) waiters.splice(index, 1)[0].resolve(line);
    else lines.push(line);
  });
  const line = (pattern: RegExp): Promise<string> => {
    const index = lines.findIndex((l) => pattern.test(l));
    if (index >= 0) return Promise.resolve(lines.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`holder never printed ${pattern}; stderr: ${stderr}`)), 20_000);
      waiters.push({
        pattern,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };
  return {
    child,
    line,
    command(command, reply) {
      child.stdin.write(`${command}\n`);
      return line(reply);
    },
  };
}
