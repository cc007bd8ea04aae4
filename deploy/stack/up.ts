/**
 * The local stack: one etcd cluster for the global topology and one per cell, data kept
 * under ./.data so a restart keeps the topology, global-topo, and one cell-topo per cell.
 * Registers each cell in the global topology (CellInfo: its cell-topo's address and its
 * root), prints where everything is, and stops it all on Ctrl-C.
 *
 *   npx ts-node --transpile-only deploy/stack/up.ts [--cells zone1,zone2] [--data-dir .data]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../etcd';
import { credentials } from '@grpc/grpc-js';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import { unaryCall as call } from '../../libs/client/unary-call';
import { ServiceProcess } from './service-process';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: process.env.CELLS ?? 'zone1,zone2' },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? '.data' },
    'global-port': { type: 'string', default: process.env.GLOBAL_ETCD_PORT ?? '2379' },
    'global-topo-port': { type: 'string', default: process.env.GLOBAL_TOPO_PORT ?? '15999' },
    backend: { type: 'string', default: process.env.BACKEND ?? 'etcd' },
    'exit-after-start': { type: 'boolean', default: false },
  },
});

const log = (message: string): void => console.log(`[up] ${message}`);

/** Creates the cell's CellInfo, or brings an existing one up to date. */
async function registerCell(client: GlobalTopoServiceClient, cell: string, serverAddress: string): Promise<string> {
  const cellInfo = { serverAddress, root: `/topo/${cell}` };
  try {
    await call(client.createCellInfo.bind(client), { name: cell, cellInfo });
    return 'registered';
  } catch (err) {
    if ((err as { code?: number }).code !== 6) throw err;
    await call(client.updateCellInfo.bind(client), { name: cell, cellInfo, version: '0' });
    return 'up to date';
  }
}

async function main(): Promise<void> {
  const dataDir = resolve(values['data-dir']!);
  const cells = values.cells!.split(',').map((c) => c.trim()).filter(Boolean);
  const globalPort = Number(values['global-port']);
  const globalTopoPort = Number(values['global-topo-port']);
  const backend = values.backend!;
  if (backend !== 'etcd' && backend !== 'memory') throw new Error(`--backend must be etcd or memory, got ${backend}`);
  const etcdEndpoints = new Map<string, string>();
  const clusters: EtcdCluster[] = [];
  const services: ServiceProcess[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    for (const service of services.reverse()) await service.stop();
    for (const cluster of clusters.reverse()) await cluster.stop();
    log('stopped');
  };
  // 'on', not 'once': the etcd harness steps aside only while another SIGINT listener remains.
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    const memory = backend === 'memory';
    const storeArgs = new Map<string, string[]>();
    if (memory) {
      log('backend memory: no etcd; each service keeps its topology in its own memory, gone when it stops');
      for (const name of ['global', ...cells]) storeArgs.set(name, ['--backend', 'memory']);
    } else {
      log(`starting global etcd on 127.0.0.1:${globalPort} (data ${join(dataDir, 'etcd-global')})`);
      const globalEtcd = await EtcdCluster.start({ dataDir: join(dataDir, 'etcd-global'), keepData: true, clientPorts: [globalPort] });
      clusters.push(globalEtcd);
      storeArgs.set('global', ['--etcd-endpoints', globalEtcd.endpoints.join(',')]);
      etcdEndpoints.set('global', globalEtcd.endpoints.join(','));
      for (const [index, cell] of cells.entries()) {
        const port = globalPort + 100 * (index + 1);
        log(`starting ${cell} etcd on 127.0.0.1:${port}`);
        const etcd = await EtcdCluster.start({ dataDir: join(dataDir, `etcd-${cell}`), keepData: true, clientPorts: [port] });
        clusters.push(etcd);
        storeArgs.set(cell, ['--etcd-endpoints', etcd.endpoints.join(',')]);
        etcdEndpoints.set(cell, etcd.endpoints.join(','));
      }
    }

    log(`starting global-topo on 127.0.0.1:${globalTopoPort}`);
    services.push(
      await ServiceProcess.start({
        main: join(__dirname, '..', '..', 'services', 'global-topo', 'main.ts'),
        args: [...storeArgs.get('global')!, '--listen', `127.0.0.1:${globalTopoPort}`, '--root', '/topo/global'],
        logFile: join(dataDir, 'global-topo.log'),
      }),
    );
    const globalAddress = `127.0.0.1:${globalTopoPort}`;
    const client = new GlobalTopoServiceClient(globalAddress, credentials.createInsecure());
    const cellAddresses = new Map<string, string>();
    for (const [index, cell] of cells.entries()) {
      const address = `127.0.0.1:${globalTopoPort + index + 1}`;
      cellAddresses.set(cell, address);
      log(`cell ${cell}: ${await registerCell(client, cell, address)} in the global topology`);
    }
    const listed = (await call(client.listCellInfos.bind(client), {})).names;
    client.close();
    for (const cell of cells) {
      const address = cellAddresses.get(cell)!;
      log(`starting cell-topo for ${cell} on ${address}`);
      services.push(
        await ServiceProcess.start({
          main: join(__dirname, '..', '..', 'services', 'cell-topo', 'main.ts'),
          args: [...storeArgs.get(cell)!, '--cell', cell, '--global-topo', globalAddress, '--root', `/topo/${cell}`, '--listen', address],
          logFile: join(dataDir, `cell-topo-${cell}.log`),
        }),
      );
    }

    console.log('');
    console.log(`global-topo:          ${globalAddress}  (logs ${join(dataDir, 'global-topo.log')})`);
    if (etcdEndpoints.has('global')) console.log(`global topology etcd: ${etcdEndpoints.get('global')}  root /topo/global`);
    for (const cell of cells) {
      console.log(`cell-topo ${cell}:      ${cellAddresses.get(cell)}  (logs ${join(dataDir, `cell-topo-${cell}.log`)})`);
      if (etcdEndpoints.has(cell)) console.log(`cell ${cell} etcd:      ${etcdEndpoints.get(cell)}  root /topo/${cell}`);
    }
    console.log(`cells registered: ${listed.join(', ')}`);
    console.log('');
    const repo = join(__dirname, '..', '..');
    const grpcurl = existsSync(join(repo, '.tools', 'bin', 'grpcurl')) ? join('.tools', 'bin', 'grpcurl') : 'grpcurl';
    console.log('Try (from the repository):');
    console.log(`  bin/topoctl --global ${globalAddress} health`);
    console.log(`  bin/topoctl --global ${globalAddress} keyspaces create commerce`);
    console.log(`  bin/topoctl --global ${globalAddress} shards create commerce/-80`);
    console.log(`  bin/topoctl --global ${globalAddress} watch --cell ${cells[0]}`);
    console.log(`  ${grpcurl} -plaintext ${globalAddress} list`);
    console.log(`  ${grpcurl} -plaintext -d '{"name":"commerce"}' ${globalAddress} topo.global.v1.GlobalTopoService/CreateKeyspace`);
    console.log(`  ${grpcurl} -plaintext -d '{"keyspace":"commerce","name":"-80"}' ${globalAddress} topo.global.v1.GlobalTopoService/CreateShard`);
    const firstCell = cells[0];
    const firstAddress = cellAddresses.get(firstCell);
    console.log(`  ${grpcurl} -plaintext -d '{"path":""}' ${globalAddress} topo.path.v1.PathService/WatchRecursive`);
    console.log(`  ${grpcurl} -plaintext -d '{}' ${firstAddress} topo.cell.v1.CellTopoService/WatchTablets`);
    console.log(
      `  ${grpcurl} -plaintext -d '{"registration":{"tablet":{"alias":{"cell":"${firstCell}","uid":100},"hostname":"localhost","keyspace":"commerce","shard":"-80","type":"REPLICA"},"session":"me","ttl":"30s"}}' ${firstAddress} topo.cell.v1.CellTopoService/RegisterTablet`,
    );
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
