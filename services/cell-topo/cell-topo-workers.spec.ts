import { credentials, Metadata } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { ServiceProcess } from '../../deploy/stack/service-process';
import { Tablet, TabletType } from '../../libs/proto';
import { CellTopoServiceClient, WatchMessageKind, type WatchTabletsResponse } from '../../libs/proto/gen/topo/cell/v1/cell';
import { call, StreamReader } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import type { GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startGlobalWithKeyspace } from './cell-topo.fixture';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
const logDir = mkdtempSync(join(tmpdir(), 'cell-topo-workers-'));

beforeAll(async () => {
  global = await startGlobalWithKeyspace(globalEtcd().endpoints);
}, 60_000);
afterAll(async () => {
  await global?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

/** Own connection per client, as separate routers have: the cluster spreads connections, not calls. */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function etcdWatchers(): Promise<number> {
  const text = await (await fetch(`${cellEtcd().endpoints[0]}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(text)![1]);
}

const tablet = (hostname: string): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid: 7 }, hostname, keyspace: 'ks', shard: '-80', type: TabletType.REPLICA });

describe('cell-topo --workers', () => {
  it('serves one port from N processes, each with one etcd watch; a client moving between them resumes exactly; a killed worker is restarted', async () => {
    const logFile = join(logDir, 'cell-topo.log');
    const root = `/workers/${process.pid}/zone1`;
    const before = await etcdWatchers();
    const proc = await ServiceProcess.start({
      main: require.resolve('./main.ts'),
      args: ['--cell', 'zone1', '--global-topo', global.address, '--etcd-endpoints', cellEtcd().endpoints[0], '--root', root, '--listen', '127.0.0.1:0', '--workers', '2'],
      logFile,
    });
    const clients: CellTopoServiceClient[] = [];
    const client = (): CellTopoServiceClient => {
      const c = new CellTopoServiceClient(`127.0.0.1:${proc.port}`, credentials.createInsecure(), OWN_CONNECTION);
      clients.push(c);
      return c;
    };
    const watch = (fromRevision = '0'): StreamReader<WatchTabletsResponse> =>
      new StreamReader(client().watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision }, new Metadata()));
    try {
      await until('both workers serve', () => readFileSync(logFile, 'utf8').split('"msg":"serving"').length - 1 >= 2, 30_000);
      const workers = children(proc.child.pid!);
      expect(workers).toHaveLength(2);
      const writer = client();
      await until('the workers know the global topology', async () =>
        call(writer.createTablet.bind(writer), { tablet: tablet('first') }).then(
          () => true,
          () => false,
        ),
      );

      const readers = Array.from({ length: 16 }, () => watch());
      for (const reader of readers) {
        while ((await reader.next()).kind !== WatchMessageKind.WATCH_MESSAGE_KIND_MARKER);
      }
      // One etcd watch per worker, whatever the stream count.
      expect((await etcdWatchers()) - before).toBe(2);
      for (const reader of readers) reader.stream.cancel();

      const written: string[] = [];
      let writing = true;
      const writes = (async () => {
        for (let i = 0; writing || i < 100; i++) {
          written.push((await call(writer.updateTabletFields.bind(writer), { alias: 'zone1-0000000007', hostname: `h${i}`, portMap: {}, tags: {}, version: '0' })).version);
          if (i >= 100) break;
        }
      })();
      const seen: string[] = [];
      const first = watch();
      await first.next();
      let last = (await first.next()).revision;
      first.stream.cancel();
      for (let round = 0; round < 30; round++) {
        const reader = watch((BigInt(last) + 1n).toString());
        for (let i = 0; i < 2; i++) {
          const message = await reader.next();
          if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((c) => c.version));
          last = message.revision;
        }
        reader.stream.cancel();
      }
      writing = false;
      await writes;
      const tail = watch((BigInt(last) + 1n).toString());
      while (seen.length === 0 || BigInt(seen[seen.length - 1]) < BigInt(written[written.length - 1])) {
        const message = await tail.next();
        if (message.kind === WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES) seen.push(...message.changes.map((c) => c.version));
      }
      tail.stream.cancel();
      expect(seen).toEqual(written.filter((version) => BigInt(version) >= BigInt(seen[0])));

      process.kill(workers[0], 'SIGKILL');
      await until('the killed worker is replaced', () => {
        const now = children(proc.child.pid!);
        return now.length === 2 && !now.includes(workers[0]);
      }, 20_000);
      for (let i = 0; i < 4; i++) {
        const reader = watch();
        expect((await reader.next()).kind).toBe(WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT);
        reader.stream.cancel();
      }
    } finally {
      for (const c of clients) c.close();
      const pids = children(proc.child.pid!);
      await proc.stop();
      await until('every worker is gone', () => pids.every((pid) => children(proc.child.pid!).length === 0 && !alive(pid)), 20_000);
    }
  }, 120_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
