import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Metadata, status } from '@grpc/grpc-js';
import { useEtcdCluster } from '../../deploy/etcd/jest';
import { ServiceProcess } from '../../deploy/stack/service-process';
import { CellTablets, TabletAgent, type TabletAgentEvent } from '../../libs/client';
import { Tablet, TabletType, vschema as vschemapb } from '../../libs/proto';
import type { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import { call, codeOf, StreamReader } from '../../libs/testing/grpc-call';
import { grpcurl, startGrpcurl } from '../../libs/testing/grpcurl';
import { startGlobalTopo, type GlobalTopoFixture } from '../global-topo/global-topo.fixture';
import { startCellTopo, type CellTopoFixture } from './cell-topo.fixture';
import { until } from '../../libs/testing/until';

const globalEtcd = useEtcdCluster({ members: 1 });
const cellEtcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;
let root: string;
let uid = 100;

const tablet = (id: number, shard = '-80', type = TabletType.REPLICA): Tablet =>
  Tablet.fromPartial({ alias: { cell: 'zone1', uid: id }, hostname: `host-${id}`, keyspace: 'ks', shard, type, portMap: { grpc: 15000 + id } });
const aliasOf = (id: number): string => `zone1-${String(id).padStart(10, '0')}`;

function watchCell(client: CellTopoServiceClient): CellTablets {
  return new CellTablets('zone1', client, () => undefined, { minMs: 20, maxMs: 200 });
}

beforeAll(async () => {
  global = await startGlobalTopo(globalEtcd().endpoints);
  const g = global.client;
  await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
  await call(g.createShard.bind(g), { keyspace: 'ks', name: '-80' });
  await call(g.createShard.bind(g), { keyspace: 'ks', name: '80-' });
  root = `/test/${process.pid}/zone1`;
  cell = await startCellTopo({ endpoints: cellEtcd().endpoints, root, cell: 'zone1', globalAddress: global.address });
  await call(g.createCellInfo.bind(g), { name: 'zone1', cellInfo: { serverAddress: cell.address, root } });
}, 60_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

describe('cell-topo registration', () => {
  it('registers through the SDK agent: routers see it alive, and the replication graph lists it in the same revision', async () => {
    const id = uid++;
    const view = watchCell(cell.newClient());
    await view.ready();
    const agent = new TabletAgent({ address: cell.address, tablet: tablet(id), ttlSeconds: 5 });
    await agent.start();
    await until('the tablet in the view', () => view.tablets.get(aliasOf(id))?.alive === true);
    const record = await call(cell.client.getTablet.bind(cell.client), { alias: aliasOf(id) });
    expect(record.alive).toBe(true);
    const replication = await call(cell.client.getShardReplication.bind(cell.client), { keyspace: 'ks', shard: '-80' });
    expect(replication.shardReplication?.nodes.map((n) => n.tabletAlias)).toContainEqual({ cell: 'zone1', uid: id });
    expect(BigInt(replication.version)).toBeGreaterThanOrEqual(BigInt(record.version));
    const alive = await cell.store.get(`liveness/${aliasOf(id)}`);
    expect(alive.version).toBe(BigInt(record.version));
    await agent.stop();
    await until('graceful unregister', () => view.tablets.get(aliasOf(id))?.alive === false, 2000);
    view.close();
  });

  it('drops a SIGKILLed tablet process from the view within TTL + 1 s', async () => {
    const id = uid++;
    const view = watchCell(cell.newClient());
    await view.ready();
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', require.resolve('./tablet-process.fixture.ts'), cell.address, 'zone1', String(id), 'ks', '-80', '2'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const events: TabletAgentEvent[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as TabletAgentEvent));
    try {
      await until('registration', () => view.tablets.get(aliasOf(id))?.alive === true, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // it stays alive past one TTL
      expect(view.tablets.get(aliasOf(id))?.alive).toBe(true);
      child.kill('SIGKILL');
      const gone = await until('the tablet to leave the view', () => view.tablets.get(aliasOf(id))?.alive === false, 5000);
      expect(gone).toBeLessThanOrEqual(2000 + 1000);
      expect(events[0]).toMatchObject({ type: 'registered' });
    } finally {
      child.kill('SIGKILL');
      view.close();
    }
  }, 40_000);

  it('refuses a second host claiming a live alias, re-registers the same session idempotently, and lets a takeover through', async () => {
    const id = uid++;
    const c = cell.client;
    const registration = (session: string, takeover = false) => ({
      registration: { tablet: tablet(id), session, ttl: { seconds: '10', nanos: 0 }, takeover, leaseId: '0' },
    });
    const first = await call(c.registerTablet.bind(c), registration('host-a'));
    expect(await codeOf(call(c.registerTablet.bind(c), registration('host-b')))).toBe(status.ALREADY_EXISTS);
    const again = await call(c.registerTablet.bind(c), registration('host-a'));
    expect(again.registered?.leaseId).toBe(first.registered?.leaseId);
    const replication = await call(c.getShardReplication.bind(c), { keyspace: 'ks', shard: '-80' });
    expect(replication.shardReplication?.nodes.filter((n) => n.tabletAlias?.uid === id)).toHaveLength(1);
    const taken = await call(c.registerTablet.bind(c), registration('host-b', true));
    expect(taken.registered?.leaseId).not.toBe(first.registered?.leaseId);
    expect(await codeOf(call(c.keepAlive.bind(c), { leaseId: first.registered!.leaseId }))).toBe(status.NOT_FOUND);
    await call(c.unregister.bind(c), { alias: aliasOf(id), session: 'host-b' });
    expect((await call(c.getTablet.bind(c), { alias: aliasOf(id) })).alive).toBe(false);
  });

  it('refuses tablets whose keyspace or shard is not in the global topology, and bad input, changing nothing', async () => {
    const c = cell.client;
    const before = await cell.store.list('');
    const bad: Array<[Tablet, number]> = [
      [Tablet.fromPartial({ ...tablet(900), keyspace: 'missing' }), status.FAILED_PRECONDITION],
      [Tablet.fromPartial({ ...tablet(901), shard: '40-c0' }), status.FAILED_PRECONDITION],
      [Tablet.fromPartial({ ...tablet(902), keyspace: '../x' }), status.INVALID_ARGUMENT],
      [Tablet.fromPartial({ ...tablet(903), type: 77 as TabletType }), status.INVALID_ARGUMENT],
      [Tablet.fromPartial({ ...tablet(904), alias: { cell: 'zone2', uid: 904 } }), status.INVALID_ARGUMENT],
      [Tablet.fromPartial({ ...tablet(905), hostname: '' }), status.INVALID_ARGUMENT],
      [Tablet.fromPartial({ ...tablet(906), portMap: { grpc: 70000 } }), status.INVALID_ARGUMENT],
    ];
    for (const [t, code] of bad) {
      const request = { registration: { tablet: t, session: 's', ttl: undefined, takeover: false, leaseId: '0' } };
      expect([t.alias?.uid, await codeOf(call(c.registerTablet.bind(c), request))]).toEqual([t.alias?.uid, code]);
    }
    expect(await codeOf(call(c.getTablet.bind(c), { alias: 'zone1/..' }))).toBe(status.INVALID_ARGUMENT);
    expect(await cell.store.list('')).toEqual(before);
  });

  it('keeps validating against its copy of the global topology while global-topo is down', async () => {
    const ownGlobal = await startGlobalTopo(globalEtcd().endpoints);
    const g = ownGlobal.client;
    await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
    await call(g.createShard.bind(g), { keyspace: 'ks', name: '-80' });
    const replica = await startCellTopo({ endpoints: cellEtcd().endpoints, root, cell: 'zone1', globalAddress: ownGlobal.address });
    try {
      const c = replica.client;
      const register = (t: Tablet) =>
        call(c.registerTablet.bind(c), { registration: { tablet: t, session: 'own', ttl: undefined, takeover: false, leaseId: '0' } });
      await until('the global view', async () => (await register(tablet(950)).then(() => true, () => false)), 10_000);
      await ownGlobal.stop();
      await register(tablet(951));
      expect(await codeOf(register(tablet(952, '80-')))).toBe(status.FAILED_PRECONDITION);
    } finally {
      await replica.stop();
    }
  });

  it('serves one cell consistently from two replicas: register on one, watch on the other', async () => {
    const replica = await startCellTopo({ endpoints: cellEtcd().endpoints, root, cell: 'zone1', globalAddress: global.address });
    try {
      const id = uid++;
      const view = watchCell(replica.newClient());
      await view.ready();
      const agent = new TabletAgent({ address: cell.address, tablet: tablet(id, '80-', TabletType.RDONLY), ttlSeconds: 5 });
      await agent.start();
      await until('the other replica to see it', () => view.tablets.get(aliasOf(id))?.alive === true);
      expect(view.tablets.get(aliasOf(id))?.tablet?.type).toBe(TabletType.RDONLY);
      await agent.stop();
      view.close();
    } finally {
      await replica.stop();
    }
  });

  it('loses no live tablet when cell-topo is SIGKILLed and restarted within the TTL', async () => {
    const id = uid++;
    const port = 20000 + (process.pid % 20000);
    const start = () =>
      ServiceProcess.start({
        main: require.resolve('./main.ts'),
        args: ['--cell', 'zone1', '--global-topo', global.address, '--etcd-endpoints', cellEtcd().endpoints[0], '--root', root, '--listen', `127.0.0.1:${port}`],
        logFile: '/dev/null',
      });
    let proc = await start();
    const view = watchCell(cell.newClient());
    await view.ready();
    const agent = new TabletAgent({ address: `127.0.0.1:${port}`, tablet: tablet(id), ttlSeconds: 15, minBackoffMs: 50, maxBackoffMs: 300 });
    const events: TabletAgentEvent[] = [];
    agent.on('event', (e: TabletAgentEvent) => events.push(e));
    const flips: boolean[] = [];
    const onChange = (): void => {
      const entry = view.tablets.get(aliasOf(id));
      if (entry && flips[flips.length - 1] !== entry.alive) flips.push(entry.alive);
    };
    const timer = setInterval(onChange, 5);
    try {
      await agent.start();
      await until('alive', () => view.tablets.get(aliasOf(id))?.alive === true);
      proc.child.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      proc = await start();
      await until('the agent to resume its lease', () => events.some((e) => e.type === 'registered' && e.resumed), 14_000).catch(
        (err: Error) => {
          throw new Error(`${err.message}; agent events: ${JSON.stringify(events)}`);
        },
      );
      // Past the TTL since the kill: a lease that had not been resumed would be gone by now.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 16_000 - Date.now())));
      expect(flips).toEqual([true]);
      expect(events.filter((e) => e.type === 'lease-lost')).toEqual([]);
    } finally {
      clearInterval(timer);
      await agent.stop();
      view.close();
      await proc.stop();
    }
  }, 60_000);
});

describe('cell-topo through grpcurl, and the serving graph', () => {
  it('registers a tablet with grpcurl and reads it from a WatchTablets stream', async () => {
    const watch = startGrpcurl(cell.address, ['topo.cell.v1.CellTopoService/WatchTablets'], { data: { keyspace: 'ks', shard: '80-' }, timeoutMs: 20_000 });
    try {
      await watch.waitFor('WATCH_MESSAGE_KIND_MARKER');
      const registered = await grpcurl(cell.address, ['topo.cell.v1.CellTopoService/RegisterTablet'], {
        data: {
          registration: {
            tablet: { alias: { cell: 'zone1', uid: 777 }, hostname: 'h', keyspace: 'ks', shard: '80-', type: 'PRIMARY' },
            session: 'grpcurl',
            ttl: '30s',
          },
        },
      });
      expect(registered.stderr).toBe('');
      const { leaseId } = JSON.parse(registered.stdout).registered as { leaseId: string };
      await watch.waitFor(/"alias": "zone1-0000000777"[\s\S]*"alive": true/);
      const kept = await grpcurl(cell.address, ['topo.cell.v1.CellTopoService/KeepAlive'], { data: { leaseId } });
      expect(JSON.parse(kept.stdout)).toEqual({ ttl: '30s' });
    } finally {
      await watch.stop();
    }
  });

  it('rebuilds the keyspace graph from global-topo into the cell, where routers watch it', async () => {
    const reader = new StreamReader(cell.client.watchSrvKeyspace({ keyspace: 'ks', fromRevision: '0' }, new Metadata()));
    const first = await reader.next();
    expect(first.removed).toBe(true);
    await reader.next(); // marker
    const g = global.client;
    const rebuilt = await call(g.rebuildKeyspaceGraph.bind(g), { keyspace: 'ks', cells: ['zone1'] });
    expect(rebuilt.cells.map((c) => c.cell)).toEqual(['zone1']);
    const change = await reader.next();
    expect(change.srvKeyspace?.partitions.map((p) => [p.servedType, p.shardReferences.map((s) => s.name)])).toEqual([
      [TabletType.PRIMARY, ['-80', '80-']],
      [TabletType.REPLICA, ['-80', '80-']],
      [TabletType.RDONLY, ['-80', '80-']],
    ]);
    reader.cancel();
    const sharded = Buffer.from(vschemapb.Keyspace.encode(vschemapb.Keyspace.fromPartial({ sharded: true })).finish());
    await call(g.saveVSchema.bind(g), { keyspace: 'ks', vschema: sharded, version: '0' });
    await call(g.rebuildVSchemaGraph.bind(g), { cells: [] });
    const srv = await call(cell.client.getSrvVSchema.bind(cell.client), {});
    // What vtgate decodes: a binary vschema.SrvVSchema.
    expect(vschemapb.SrvVSchema.decode(srv.srvVschema).keyspaces.ks.sharded).toBe(true);
  });
});
