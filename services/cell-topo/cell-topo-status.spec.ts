import { credentials } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CellInfo, Shard, SrvKeyspace, Tablet, TabletType } from '../../libs/proto';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient, LockKind } from '../../libs/proto/gen/topo/global/v1/global';
import { ServingStatus } from '../../libs/server/health';
import { countColours, launchBrowser, type Browser } from '../../libs/testing/browser';
import { call } from '../../libs/testing/grpc-call';
import { sample, startObserved, type ObservedServer } from '../../libs/testing/observed';
import { until } from '../../libs/testing/until';
import { CellTopology, GlobalTopology } from '../../libs/topo';
import { globalTopoServices } from '../global-topo/global-topo-wiring';
import { observedCellTopoServices } from './cell-status';

// UPDATE_SCREENSHOTS=1 (make screenshots) refreshes the README's pictures.
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS ? join(__dirname, '..', '..', 'docs') : undefined;
const GREEN: [number, number, number] = [0, 136, 0];
const RED: [number, number, number] = [187, 0, 0];

let global: ObservedServer;
let cell: ObservedServer;
let browser: Browser;
const clients: Array<{ close(): void }> = [];
let routerMessages = 0;

const tablet = (uid: number, type: TabletType, shard: string): Tablet =>
  Tablet.fromPartial({
    alias: { cell: 'zone1', uid },
    hostname: `db-${uid}.zone1.example`,
    keyspace: 'commerce',
    shard,
    type,
    portMap: { grpc: 15991, vt: 15100 },
  });

beforeAll(async () => {
  global = await startObserved({
    program: 'global-topo',
    cell: 'global',
    root: '/topo/global',
    services: (store, tracker, observability) => globalTopoServices(store, tracker, observability),
  });
  const g = new GlobalTopoServiceClient(global.address, credentials.createInsecure());
  clients.push(g);
  const topo = new GlobalTopology(global.store);
  await topo.cells.create('zone1', CellInfo.fromPartial({ serverAddress: 'cell-topo-zone1:16000', root: '/topo/zone1' }));
  await call(g.createKeyspace.bind(g), { name: 'commerce', keyspace: undefined });
  for (const shard of ['-80', '80-']) await call(g.createShard.bind(g), { keyspace: 'commerce', name: shard });
  await topo.shards.updateFields('commerce', '-80', (s: Shard) => {
    s.primaryAlias = { cell: 'zone1', uid: 100 };
  });
  await call(g.acquireLock.bind(g), {
    target: { kind: LockKind.LOCK_KIND_SHARD, keyspace: 'commerce', shard: '80-', name: '', path: '' },
    holder: 'vtctld',
    action: 'PlannedReparentShard',
    waitTimeout: undefined,
    tryOnly: false,
    ttl: { seconds: '600', nanos: 0 },
  });

  cell = await startObserved({
    program: 'cell-topo',
    cell: 'zone1',
    root: '/topo/zone1',
    extra: { cell: 'zone1', 'global-topo': global.address },
    services: (store, tracker, observability) => observedCellTopoServices(store, tracker, { cell: 'zone1', globalAddress: global.address }, observability),
  });
  await until('cell-topo serving', () => cell.server.health.status('') === ServingStatus.SERVING);
  const topoCell = new CellTopology(cell.store, { cell: 'zone1' });
  await topoCell.srvKeyspaces.save(
    'commerce',
    SrvKeyspace.fromPartial({
      partitions: [
        {
          servedType: TabletType.PRIMARY,
          shardReferences: [
            { name: '-80', keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) } },
            { name: '80-', keyRange: { start: Buffer.from([0x80]), end: Buffer.alloc(0) } },
          ],
        },
      ],
    }),
  );
  await topoCell.registry.register(tablet(100, TabletType.PRIMARY, '-80'), { session: 'host-a' });
  await topoCell.registry.register(tablet(101, TabletType.REPLICA, '-80'), { session: 'host-b' });
  // A router's watch: a subscriber of the hub, as the page shows.
  const router = new CellTopoServiceClient(cell.address, credentials.createInsecure());
  clients.push(router);
  router
    .watchTablets({ keyspace: 'commerce', shard: '', tabletTypes: [], fromRevision: '0' })
    .on('data', () => routerMessages++)
    .on('error', () => undefined);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const client of clients) client.close();
  await cell?.stop();
  await global?.stop();
});

async function screenshot(name: string): Promise<Buffer> {
  const png = await browser.page.screenshot({ fullPage: true });
  if (SCREENSHOT_DIR) writeFileSync(join(SCREENSHOT_DIR, name), png);
  return png;
}

describe('/debug/status in a browser', () => {
  it("cell-topo shows its tablets with liveness, the serving graph and the hub's subscribers, live without a reload", async () => {
    const page = browser.page;
    let navigations = 0;
    page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations++);
    await page.goto(`${cell.httpBase}/debug/status`);
    const text = (): Promise<string> => page.locator('#status').innerText();
    await until('census loaded', async () => (await text()).includes('2 registered, 2 alive'));
    const shown = await text();
    expect(shown).toContain('cell-topo');
    expect(shown).toContain('zone1-0000000100');
    expect(shown).toContain('db-101.zone1.example');
    expect(shown).toMatch(/commerce\s+PRIMARY\s+-80 \(-80\), 80- \(80-\)/);
    expect(shown).toMatch(/\n\/\s+live\s+[1-9]/);
    expect(shown).toContain('--cell\tzone1');

    // A tablet registers and another one's lease ends: the open page follows.
    const topoCell = new CellTopology(cell.store, { cell: 'zone1' });
    const late = await topoCell.registry.register(tablet(102, TabletType.RDONLY, '80-'), { session: 'host-c' });
    await until('new tablet shown', async () => (await text()).includes('zone1-0000000102'));
    await cell.store.revokeLease(late.leaseId);
    await until('lease end shown', async () => (await text()).includes('3 registered, 2 alive'));
    expect(await page.locator('td.bad', { hasText: 'down' }).count()).toBe(1);
    expect(navigations).toBe(1);

    const png = await screenshot('status-cell-topo.png');
    const colours = await countColours(page, png, { green: GREEN, red: RED });
    // "alive", "reachable" and "live" in green; the one tablet "down" in red.
    expect(colours.green).toBeGreaterThan(100);
    expect(colours.red).toBeGreaterThan(20);
  }, 60_000);

  it('global-topo shows cells, shards with primaries and the locks with holder, age and TTL', async () => {
    const page = browser.page;
    await page.goto(`${global.httpBase}/debug/status`);
    const shown = await page.locator('#status').innerText();
    expect(shown).toContain('global-topo');
    expect(shown).toMatch(/zone1\s+cell-topo-zone1:16000\s+\/topo\/zone1/);
    expect(shown).toMatch(/commerce\s+-80\s+-80\s+zone1-0000000100/);
    expect(shown).toMatch(/keyspaces\/commerce\/shards\/80-\s+held\s+vtctld\s+PlannedReparentShard\s+\S+\s+\d+s\s+5\d\ds\s+\d+/);
    const png = await screenshot('status-global-topo.png');
    expect((await countColours(page, png, { green: GREEN })).green).toBeGreaterThan(50);

    // The same figures for machines.
    const metrics = await (await fetch(`${cell.httpBase}/metrics`)).text();
    expect(sample(metrics, 'topo_tablets_registered')).toBe(3);
    // The router's stream is written as pre-framed bytes below grpc-js, behind the interceptors.
    expect(routerMessages).toBeGreaterThan(0);
    expect(sample(metrics, 'topo_grpc_server_streams_in_flight', { grpc_service: 'topo.cell.v1.CellTopoService', grpc_method: 'WatchTablets' })).toBe(1);
    expect(sample(metrics, 'topo_tablets_alive')).toBe(2);
    expect(sample(metrics, 'topo_watch_subscribers', { prefix: '/' })).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'topo_watch_events_received_total', { prefix: '/' })).toBeGreaterThan(0);
    expect(sample(metrics, 'topo_watch_backend_watches')).toBe(1);
  }, 60_000);
});
