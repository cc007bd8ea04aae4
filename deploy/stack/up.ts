/**
 * The local stack: one etcd cluster for the global topology and one per cell, data kept
 * under ./.data so a restart keeps the topology. Registers each cell in the global
 * topology (CellInfo), prints where everything is, and stops it all on Ctrl-C.
 *
 *   npx ts-node --transpile-only deploy/stack/up.ts [--cells zone1,zone2] [--data-dir .data]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../etcd';
import { CellInfo } from '../../libs/proto';
import { openStore, TopoError, TopoErrorCode, type Store } from '../../libs/store';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: process.env.CELLS ?? 'zone1,zone2' },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? '.data' },
    'global-port': { type: 'string', default: process.env.GLOBAL_ETCD_PORT ?? '2379' },
    'exit-after-start': { type: 'boolean', default: false },
  },
});

const log = (message: string): void => console.log(`[up] ${message}`);

async function registerCell(global: Store, cell: string, endpoint: string): Promise<string> {
  const info = CellInfo.encode({ serverAddress: endpoint, root: `/topo/${cell}` }).finish();
  const path = `cells/${cell}/CellInfo`;
  try {
    await global.create(path, info);
    return 'registered';
  } catch (err) {
    if (!TopoError.is(err, TopoErrorCode.NodeExists)) throw err;
    const current = await global.get(path);
    await global.update(path, info, current.version);
    return 'updated';
  }
}

async function main(): Promise<void> {
  const dataDir = resolve(values['data-dir']!);
  const cells = values.cells!.split(',').map((c) => c.trim()).filter(Boolean);
  const globalPort = Number(values['global-port']);
  const clusters: EtcdCluster[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    for (const cluster of clusters.reverse()) await cluster.stop();
    log('stopped');
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    log(`starting global etcd on 127.0.0.1:${globalPort} (data ${join(dataDir, 'etcd-global')})`);
    const globalEtcd = await EtcdCluster.start({
      dataDir: join(dataDir, 'etcd-global'),
      keepData: true,
      clientPorts: [globalPort],
    });
    clusters.push(globalEtcd);
    const cellEtcds = new Map<string, EtcdCluster>();
    for (const [index, cell] of cells.entries()) {
      const port = globalPort + 100 * (index + 1);
      log(`starting ${cell} etcd on 127.0.0.1:${port}`);
      const etcd = await EtcdCluster.start({ dataDir: join(dataDir, `etcd-${cell}`), keepData: true, clientPorts: [port] });
      clusters.push(etcd);
      cellEtcds.set(cell, etcd);
    }

    const global = openStore({ backend: 'etcd', endpoints: globalEtcd.endpoints, root: '/topo/global' });
    for (const [cell, etcd] of cellEtcds) {
      log(`cell ${cell}: ${await registerCell(global, cell, etcd.endpoints[0])} in the global topology`);
    }
    const listed = await global.listDir('cells');
    await global.close();

    console.log('');
    console.log(`global topology etcd: ${globalEtcd.endpoints.join(',')}  root /topo/global`);
    for (const [cell, etcd] of cellEtcds) console.log(`cell ${cell} etcd:        ${etcd.endpoints.join(',')}  root /topo/${cell}`);
    console.log(`cells registered: ${listed.map((e) => e.name).join(', ')}`);
    console.log('');
    console.log('Try:');
    console.log(`  ETCDCTL_API=3 etcdctl --endpoints ${globalEtcd.endpoints[0]} get --prefix --keys-only /topo/global/`);
    console.log('');
    if (values['exit-after-start']) {
      await stopAll();
      return;
    }
    log('up; Ctrl-C stops everything');
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(`[up] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
