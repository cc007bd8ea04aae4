import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { ChangeType, type WatchRecursiveResponse, type WatchResponse } from '../../libs/proto/gen/topo/path/v1/path';
import { call, StreamReader } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { startGlobalTopo, type GlobalTopoFixture } from './global-topo.fixture';
import { allPages } from '../../libs/client/all-pages';

const etcd = useEtcdCluster({ members: 1 });
let topo: GlobalTopoFixture;

beforeAll(async () => {
  topo = await startGlobalTopo(etcd().endpoints);
}, 60_000);
afterAll(async () => {
  await topo?.stop();
});

/** etcd's own count of its watchers, from its metrics. */
async function etcdWatchers(): Promise<number> {
  const text = await (await fetch(`${etcd().endpoints[0]}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(text)![1]);
}

function watchDir(path: string, fromRevision = '0'): StreamReader<WatchRecursiveResponse> {
  return new StreamReader(topo.path.watchRecursive({ path, fromRevision }, new Metadata()));
}

describe('global-topo path watches through the watch hub', () => {
  it('hold one etcd watch for 50 recursive and 50 file watches, whatever they watch', async () => {
    await call(topo.path.create.bind(topo.path), { path: 'scratch/a/file', contents: Buffer.from('1') });
    const before = await etcdWatchers();
    const readers: Array<{ stream: { cancel(): void } }> = [];
    for (let i = 0; i < 50; i++) {
      const dir = watchDir(i % 2 === 0 ? 'scratch' : 'keyspaces');
      readers.push(dir);
      await dir.next();
      const file = new StreamReader<WatchResponse>(topo.path.watch({ path: 'scratch/a/file' }, new Metadata()));
      readers.push(file);
      await file.next();
    }
    expect(await etcdWatchers()).toBeLessThanOrEqual(before + 1);
    for (const reader of readers) reader.stream.cancel();
  });

  it('sends a directory larger than a message as snapshot parts of at most 512 KiB that add up to the listing', async () => {
    const contents = Buffer.alloc(1024, 'v');
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => call(topo.path.update.bind(topo.path), { path: `big/f${i + j}`, contents, version: '0' })),
      );
    }
    const reader = watchDir('big');
    const parts: WatchRecursiveResponse[] = [];
    do parts.push(await reader.next());
    while (parts[parts.length - 1].continued);
    reader.stream.cancel();
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.every((p) => p.snapshot && p.revision === parts[0].revision)).toBe(true);
    for (const part of parts) {
      expect(part.changes.reduce((total, c) => total + c.contents.length + c.path.length + 16, 0)).toBeLessThanOrEqual(512 * 1024 + 64 * 1024);
    }
    const listed = await allPages(
      (pageToken) => call(topo.path.list.bind(topo.path), { prefix: 'big/', pageSize: 0, pageToken }),
      (page) => page.kvs,
    );
    expect(parts.flatMap((p) => p.changes.map((c) => [c.path, c.version]))).toEqual(listed.map((kv) => [kv.path, kv.version]));
  }, 60_000);

  it('gives a reader that stopped reading every transaction it missed, merged, each change with its version', async () => {
    const reader = watchDir('merged');
    await reader.next();
    reader.stream.pause();
    const contents = Buffer.alloc(2048, 'm');
    const written: string[] = [];
    for (let i = 0; i < 400; i++) {
      written.push((await call(topo.path.update.bind(topo.path), { path: `merged/f${i % 7}`, contents, version: '0' })).version);
    }
    reader.stream.resume();
    const versions: string[] = [];
    let merged = 0;
    while (versions.length < written.length) {
      const message = await reader.next();
      versions.push(...message.changes.map((c) => c.version));
      if (message.transactions > 1) merged++;
      expect(message.changes.every((c) => c.type === ChangeType.CHANGE_TYPE_PUT)).toBe(true);
    }
    reader.stream.cancel();
    expect(versions).toEqual(written);
    expect(merged).toBeGreaterThan(0);
  }, 60_000);

  it('watches a file: its value, each change, then NOT_FOUND once it is deleted', async () => {
    const created = await call(topo.path.create.bind(topo.path), { path: 'scratch/watched', contents: Buffer.from('one') });
    const reader = new StreamReader<WatchResponse>(topo.path.watch({ path: 'scratch/watched' }, new Metadata()));
    expect(await reader.next()).toMatchObject({ contents: Buffer.from('one'), version: created.version, current: true });
    const updated = await call(topo.path.update.bind(topo.path), { path: 'scratch/watched', contents: Buffer.from('two'), version: created.version });
    expect(await reader.next()).toMatchObject({ contents: Buffer.from('two'), version: updated.version, current: false });
    await call(topo.path.delete.bind(topo.path), { path: 'scratch/watched', version: '0' });
    const ended = (await reader.closed()) as ServiceError;
    expect(ended.code).toBe(status.NOT_FOUND);
    const missing = new StreamReader<WatchResponse>(topo.path.watch({ path: 'scratch/never' }, new Metadata()));
    expect(((await missing.closed()) as ServiceError).code).toBe(status.NOT_FOUND);
  });

  it('resumes a recursive watch exactly from a revision, served from the hub history', async () => {
    const reader = watchDir('resume');
    const snapshot = await reader.next();
    reader.stream.cancel();
    const written: string[] = [];
    for (let i = 0; i < 20; i++) written.push((await call(topo.path.update.bind(topo.path), { path: `resume/f${i}`, contents: Buffer.from(`${i}`), version: '0' })).version);
    const resumed = watchDir('resume', (BigInt(snapshot.revision) + 1n).toString());
    const versions: string[] = [];
    await until('the resumed watch has every write', async () => {
      const message = await resumed.next();
      versions.push(...message.changes.map((c) => c.version));
      return versions.length >= written.length;
    });
    resumed.stream.cancel();
    expect(versions).toEqual(written);
  });
});
