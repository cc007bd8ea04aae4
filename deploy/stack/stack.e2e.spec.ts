import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { useEtcdCluster } from '../etcd/jest';
import { pickFreePorts } from '../etcd/free-ports';
import { RouterView } from '../../libs/client';
import { unaryCall } from '../../libs/client/unary-call';
import { TabletType } from '../../libs/proto';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import { openStore } from '../../libs/store';
import { CellTopology } from '../../libs/topo';
import { Tablet } from '../../libs/proto';
import { ServiceProcess } from './service-process';
import { until } from '../../libs/testing/until';

/**
 * The whole story with real processes: etcd per cell and for the global topology,
 * global-topo, a cell-topo per cell, tablets kept registered by the SDK in their own
 * processes, and a router's RouterView.
 */
const globalEtcd = useEtcdCluster({ members: 1 });
const zone1Etcd = useEtcdCluster({ members: 1 });
const zone2Etcd = useEtcdCluster({ members: 1 });
const repo = join(__dirname, '..', '..');
const TTL = 2;

function startTablet(address: string, cell: string, uid: number, shard: string): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(repo, 'services/cell-topo/tablet-process.fixture.ts'), address, cell, String(uid), 'commerce', shard, String(TTL)],
    { stdio: 'ignore' },
  );
}

it('routers see tablets of two cells come and go, ride out a cell outage, and catch up exactly', async () => {
  const [globalPort, zone1Port, zone2Port] = await pickFreePorts(3, '127.0.0.1');
  const processes: ServiceProcess[] = [];
  const tablets: ChildProcess[] = [];
  const cellTopo = (cell: string, port: number, endpoints: string[]) =>
    ServiceProcess.start({
      main: join(repo, 'services/cell-topo/main.ts'),
      args: ['--cell', cell, '--global-topo', `127.0.0.1:${globalPort}`, '--etcd-endpoints', endpoints.join(','), '--listen', `127.0.0.1:${port}`],
      logFile: '/dev/null',
    });
  const router = new RouterView({ globalAddress: `127.0.0.1:${globalPort}`, minBackoffMs: 50, maxBackoffMs: 300 });
  try {
    processes.push(
      await ServiceProcess.start({
        main: join(repo, 'services/global-topo/main.ts'),
        args: ['--etcd-endpoints', globalEtcd().endpoints[0], '--listen', `127.0.0.1:${globalPort}`],
        logFile: '/dev/null',
      }),
    );
    const global = new GlobalTopoServiceClient(`127.0.0.1:${globalPort}`, credentials.createInsecure());
    await unaryCall(global.createKeyspace.bind(global), { name: 'commerce', keyspace: undefined });
    await unaryCall(global.createShard.bind(global), { keyspace: 'commerce', name: '-80' });
    await unaryCall(global.createShard.bind(global), { keyspace: 'commerce', name: '80-' });
    for (const [cell, port] of [['zone1', zone1Port], ['zone2', zone2Port]] as const) {
      await unaryCall(global.createCellInfo.bind(global), { name: cell, cellInfo: { serverAddress: `127.0.0.1:${port}`, root: `/topo/${cell}` } });
    }
    global.close();
    processes.push(await cellTopo('zone1', zone1Port, zone1Etcd().endpoints));
    let zone2 = await cellTopo('zone2', zone2Port, zone2Etcd().endpoints);
    processes.push(zone2);

    await router.start();
    const rebuild = new GlobalTopoServiceClient(`127.0.0.1:${globalPort}`, credentials.createInsecure());
    await unaryCall(rebuild.rebuildKeyspaceGraph.bind(rebuild), { keyspace: 'commerce', cells: [] });
    rebuild.close();
    for (const cell of ['zone1', 'zone2']) {
      await until(`${cell}'s serving graph in the router`, () => router.srvKeyspace(cell, 'commerce')?.partitions.length === 3, 20_000);
    }
    tablets.push(startTablet(`127.0.0.1:${zone1Port}`, 'zone1', 101, '-80'));
    tablets.push(startTablet(`127.0.0.1:${zone1Port}`, 'zone1', 102, '-80'));
    tablets.push(startTablet(`127.0.0.1:${zone2Port}`, 'zone2', 201, '-80'));
    tablets.push(startTablet(`127.0.0.1:${zone2Port}`, 'zone2', 202, '80-'));
    const healthy = (cell?: string) => [
      ...router.healthyTablets('commerce', '-80', TabletType.REPLICA, cell),
      ...router.healthyTablets('commerce', '80-', TabletType.REPLICA, cell),
    ].map((t) => `${t.alias!.cell}-${t.alias!.uid}`).sort();
    await until('every tablet in the router view', () => healthy().length === 4, 30_000);
    expect(healthy()).toEqual(['zone1-101', 'zone1-102', 'zone2-201', 'zone2-202']);

    // A tablet crashes: it leaves the view within TTL + 1 s.
    tablets[1].kill('SIGKILL');
    const left = await until('the killed tablet to leave the view', () => !healthy().includes('zone1-102'), 10_000);
    expect(left).toBeLessThanOrEqual(TTL * 1000 + 1000);

    // zone2's cell-topo and etcd go away: the router keeps answering from its view.
    const before = healthy('zone2');
    const revisionBefore = router.revision('zone2')!;
    zone2.child.kill('SIGKILL');
    await zone2Etcd().members[0].kill();
    await until('the router to notice', () => router.staleness().zone2 > 0, 10_000);
    expect(healthy('zone2')).toEqual(before);
    expect(router.srvKeyspace('zone2', 'commerce')?.partitions.length).toBe(3);
    expect(router.staleness().zone1).toBe(0);

    // Meanwhile, once etcd is back but before cell-topo is, an operator repairs the cell
    // directly: two tablets are added and one removed.
    await zone2Etcd().members[0].restart();
    const store = openStore({ backend: 'etcd', endpoints: zone2Etcd().endpoints, root: '/topo/zone2' });
    const topo = new CellTopology(store, { cell: 'zone2' });
    for (const uid of [203, 204]) {
      await topo.tablets.create(Tablet.fromPartial({ alias: { cell: 'zone2', uid }, hostname: 'h', keyspace: 'commerce', shard: '80-', type: TabletType.REPLICA }));
    }
    await topo.tablets.delete({ cell: 'zone2', uid: 203 });
    await store.close();

    zone2 = await cellTopo('zone2', zone2Port, zone2Etcd().endpoints);
    processes.push(zone2);
    await until('the router to catch up with zone2', () => router.allTablets('zone2').has('zone2-0000000204'), 30_000);
    await until('zone2 tablets alive again', () => healthy('zone2').length === 2, 30_000);
    const truth = new CellTopoServiceClient(`127.0.0.1:${zone2Port}`, credentials.createInsecure());
    const listed = await unaryCall(truth.listTablets.bind(truth), { keyspace: '', shard: '', tabletTypes: [], pageSize: 0, pageToken: '' });
    truth.close();
    const view = router.allTablets('zone2');
    expect([...view.keys()].sort()).toEqual(listed.tablets.map((t) => `zone2-${String(t.tablet!.alias!.uid).padStart(10, '0')}`).sort());
    for (const record of listed.tablets) {
      const entry = view.get(`zone2-${String(record.tablet!.alias!.uid).padStart(10, '0')}`)!;
      expect([entry.tablet?.hostname, entry.alive]).toEqual([record.tablet!.hostname, record.alive]);
    }
    expect(router.revision('zone2')! > revisionBefore).toBe(true);
    expect(router.cellStats('zone2')!.duplicateBatches).toBe(0);
    expect(router.cellStats('zone1')!.duplicateBatches).toBe(0);
  } finally {
    router.close();
    for (const tablet of tablets) tablet.kill('SIGKILL');
    for (const proc of processes.reverse()) await proc.stop();
  }
}, 180_000);
