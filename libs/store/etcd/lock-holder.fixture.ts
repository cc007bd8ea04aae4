/**
 * A lock holder in its own process, so a test can freeze it (SIGSTOP) past its lease TTL
 * the way a stalled reparent would be frozen. Reads commands from stdin, one per line:
 *   write <text>   fenced update of keyspaces/ks1/Keyspace; prints "write ok" or "write <code>"
 * and prints "locked <token>" once it holds the lock, "lost" when it learns it lost it.
 */
import { createInterface } from 'node:readline';
import { TopoStore } from '../core/topo-store';
import { EtcdEngine } from './etcd-engine';

async function main(): Promise<void> {
  const [endpoint, root, ttl] = process.argv.slice(2);
  const store = new TopoStore(new EtcdEngine({ endpoints: [endpoint] }), { root });
  const lock = await store.lock('keyspaces/ks1', 'fixture holder', { ttlSeconds: Number(ttl) });
  lock.lost.addEventListener('abort', () => console.log('lost'), { once: true });
  console.log(`locked ${lock.token}`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, ...rest] = line.split(' ');
    if (command === 'write') {
      try {
        await store.update('keyspaces/ks1/Keyspace', new TextEncoder().encode(rest.join(' ')), null, {
          fence: lock.fence,
        });
        console.log('write ok');
      } catch (err) {
        console.log(`write ${(err as { code?: string }).code ?? String(err)}`);
      }
    }
  }
  await store.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
