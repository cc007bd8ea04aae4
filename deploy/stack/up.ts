/**
 * The local stack: one etcd cluster for the global topology and one per cell, data kept
 * under ./.data so a restart keeps the topology, global-topo, and one cell-topo per cell.
 * Registers each cell in the global topology (CellInfo: its cell-topo's address and its
 * root), prints where everything is, keeps every process running (a dead one is reported
 * with the cause from its log and restarted), and stops it all on Ctrl-C.
 *
 *   node -r ts-node/register/transpile-only deploy/stack/up.ts [--cells zone1,zone2] [--data-dir .data]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../etcd';
import { loadLayout } from '../etcd/cluster-layout';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import { unaryCall as call } from '../../libs/client/unary-call';
import { assertPortsFree, type WantedPort } from './port-holder';
import { verifyEtcdMember } from './etcd-identity';
import { ServiceProcess } from './service-process';
import { Supervisor } from './supervisor';
import { channelCredentials } from '../../libs/client/channel-credentials';
import { createStackTls, serviceTlsArgs } from './stack-tls';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: process.env.CELLS ?? 'zone1,zone2' },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? '.data' },
    'global-port': { type: 'string', default: process.env.GLOBAL_ETCD_PORT ?? '2379' },
    'global-topo-port': { type: 'string', default: process.env.GLOBAL_TOPO_PORT ?? '15999' },
    backend: { type: 'string', default: process.env.BACKEND ?? 'etcd' },
    /** per-cell: an etcd for the global topology and one per cell; shared: one etcd for all. */
    'etcd-layout': { type: 'string', default: process.env.ETCD_LAYOUT ?? 'per-cell' },
    'exit-after-start': { type: 'boolean', default: false },
    /** Restart backoff, first step; tests shorten it. */
    'restart-backoff-ms': { type: 'string', default: '1000' },
  },
});

/**
 * etcd flags for a small local topology. etcd 3.4 preallocates two 64 MB WAL segments per
 * member whatever it holds, which no flag changes; these keep it from growing past that:
 * a snapshot every 10,000 entries (not 100,000) lets old WAL segments be purged sooner,
 * only 2 of each are kept (not 5), and the backend is capped at 256 MiB (not 2 GiB), so a
 * runaway test fills an alarm rather than the disk.
 */
const LOCAL_ETCD_FLAGS = ['--snapshot-count=10000', '--max-wals=2', '--max-snapshots=2', `--quota-backend-bytes=${256 * 1024 * 1024}`];

const log = (message: string): void => console.log(`[up] ${message}`);
const repo = join(__dirname, '..', '..');
const shown = (path: string): string => (path.startsWith(`${resolve(repo)}/`) ? relative(resolve(repo), path) : path);

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

/**
 * One stack per data dir: its pid is kept in `<data dir>/up.pid` while it runs, so a second
 * `make up` on the same data, or `make reset` under a running stack, is refused.
 */
function claimDataDir(dataDir: string): string {
  const pidFile = join(dataDir, 'up.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
    throw new Error(`a stack is already running from ${shown(dataDir)} (pid ${pid}); stop it with Ctrl-C in its terminal or kill ${pid}`);
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(pidFile, `${process.pid}\n`);
  return pidFile;
}

/** Whether `pid` is a running stack: alive, and (where /proc tells) running up.ts, not a reused pid. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('up.ts');
  } catch {
    return true;
  }
}

async function main(): Promise<void> {
  const dataDir = resolve(values['data-dir']!);
  const cells = values.cells!.split(',').map((c) => c.trim()).filter(Boolean);
  const globalPort = Number(values['global-port']);
  const globalTopoPort = Number(values['global-topo-port']);
  const backend = values.backend!;
  if (backend !== 'etcd' && backend !== 'memory') throw new Error(`BACKEND must be etcd or memory, got ${backend}`);
  const memory = backend === 'memory';
  const layout = values['etcd-layout']!;
  if (layout !== 'per-cell' && layout !== 'shared') throw new Error(`ETCD_LAYOUT must be per-cell or shared, got ${layout}`);
  // Shared: every cell keeps its topology under its own root in the global etcd, as
  // Vitess's local example does; a third of the disk, but a cell's etcd cannot fail alone.
  const etcdCells = layout === 'shared' ? [] : cells;
  const cellEtcdPort = (index: number): number => globalPort + 100 * (index + 1);
  const cellTopoPort = (index: number): number => globalTopoPort + index + 1;

  const pidFile = claimDataDir(dataDir);
  // Every port is checked before anything starts: a taken one is never used.
  const ports: WantedPort[] = [{ port: globalTopoPort, what: 'global-topo', knob: 'GLOBAL_TOPO_PORT' }];
  cells.forEach((cell, index) => ports.push({ port: cellTopoPort(index), what: `cell-topo ${cell}`, knob: 'GLOBAL_TOPO_PORT (cells use the next ports)' }));
  if (!memory) {
    const etcdDirs: Array<[string, string, number]> = [['global', join(dataDir, 'etcd-global'), globalPort]];
    etcdCells.forEach((cell, index) => etcdDirs.push([cell, join(dataDir, `etcd-${cell}`), cellEtcdPort(index)]));
    for (const [name, dir, port] of etcdDirs) {
      ports.push({ port, what: `${name} etcd client`, knob: 'GLOBAL_ETCD_PORT (cells use +100, +200, ...)' });
      // A kept cluster comes back on the peer port it was created with.
      const peer = loadLayout(dir)?.members[0]?.peerPort;
      if (peer !== undefined) ports.push({ port: peer, what: `${name} etcd peer (kept in ${shown(dir)}/cluster.json)`, knob: 'make reset' });
    }
  }
  try {
    await assertPortsFree(ports, '127.0.0.1');
  } catch (err) {
    rmSync(pidFile, { force: true });
    throw err;
  }

  const clusters: EtcdCluster[] = [];
  let stopping = false;
  const supervisor = new Supervisor(log, (reason) => {
    log(`giving up: ${reason}`);
    void stopAll().then(() => process.exit(1));
  }, { minBackoffMs: Number(values['restart-backoff-ms']) });
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    for (const service of supervisor.stop().reverse()) await service.stop();
    for (const cluster of clusters.reverse()) await cluster.stop();
    rmSync(pidFile, { force: true });
    log('stopped');
  };
  // 'on', not 'once': the etcd harness steps aside only while another SIGINT listener remains.
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    const storeArgs = new Map<string, string[]>();
    const etcdLines: string[] = [];
    // TLS=1: every process on mTLS with a fresh throwaway CA, the policy in force, etcd on TLS.
    const tls = process.env.TLS === '1' ? createStackTls(join(dataDir, 'tls'), cells) : undefined;
    if (tls) log(`TLS: throwaway CA, certificates and policy in ${shown(tls.dir)}`);
    const etcdTls = tls && { ...tls.files('etcd'), ca: tls.ca };
    const verify = (member: Parameters<typeof verifyEtcdMember>[0]): Promise<string> => verifyEtcdMember(member, etcdTls);
    const tlsArgs = (name: string): string[] => (tls ? serviceTlsArgs(tls, name, !memory) : []);
    const startEtcd = async (name: string, port: number): Promise<void> => {
      const dir = join(dataDir, `etcd-${name}`);
      log(`starting ${name} etcd on 127.0.0.1:${port} (data ${shown(dir)})`);
      const etcd = await EtcdCluster.start({ dataDir: dir, keepData: true, clientPorts: [port], extraFlags: LOCAL_ETCD_FLAGS, tls: etcdTls });
      clusters.push(etcd);
      const member = etcd.members[0];
      const id = await verify(member);
      supervisor.etcd(`${name} etcd`, member, verify);
      storeArgs.set(name, ['--etcd-endpoints', etcd.endpoints.join(',')]);
      const roots = name === 'global' && layout === 'shared' ? ['global', ...cells] : [name];
      etcdLines.push(`${`${name} etcd:`.padEnd(22)}${etcd.endpoints.join(',')}  member ${id}  root ${roots.map((r) => `/topo/${r}`).join(', ')}  (logs ${shown(member.logFile)})`);
    };
    if (memory) {
      log('backend memory: no etcd; each service keeps its topology in its own memory, gone when it stops');
      for (const name of ['global', ...cells]) storeArgs.set(name, ['--backend', 'memory']);
    } else {
      await startEtcd('global', globalPort);
      for (const [index, cell] of etcdCells.entries()) await startEtcd(cell, cellEtcdPort(index));
      if (layout === 'shared') {
        log(`etcd layout shared: the cells keep their topology in the global etcd, each under /topo/<cell>`);
        for (const cell of cells) storeArgs.set(cell, storeArgs.get('global')!);
      }
    }

    const globalAddress = `127.0.0.1:${globalTopoPort}`;
    const globalLog = join(dataDir, 'global-topo.log');
    log(`starting global-topo on ${globalAddress}`);
    await supervisor.service('global-topo', () =>
      ServiceProcess.start({
        main: join(repo, 'services', 'global-topo', 'main.ts'),
        args: [...storeArgs.get('global')!, '--listen', globalAddress, '--root', '/topo/global', ...tlsArgs('global-topo')],
        logFile: globalLog,
      }),
    );
    const operator = tls && { ca: tls.ca, ...tls.files('operator') };
    const client = new GlobalTopoServiceClient(globalAddress, channelCredentials(operator));
    const cellAddresses = new Map<string, string>();
    for (const [index, cell] of cells.entries()) {
      const address = `127.0.0.1:${cellTopoPort(index)}`;
      cellAddresses.set(cell, address);
      log(`cell ${cell}: ${await registerCell(client, cell, address)} in the global topology`);
    }
    const listed = (await call(client.listCellInfos.bind(client), {})).names;
    client.close();
    for (const cell of cells) {
      const address = cellAddresses.get(cell)!;
      log(`starting cell-topo for ${cell} on ${address}`);
      await supervisor.service(`cell-topo ${cell}`, () =>
        ServiceProcess.start({
          main: join(repo, 'services', 'cell-topo', 'main.ts'),
          args: [
            ...storeArgs.get(cell)!,
            ...['--cell', cell, '--global-topo', globalAddress, '--root', `/topo/${cell}`, '--listen', address],
            ...tlsArgs(`cell-topo-${cell}`),
          ],
          logFile: join(dataDir, `cell-topo-${cell}.log`),
        }),
      );
    }

    console.log('');
    console.log(`${'global-topo:'.padEnd(22)}${globalAddress}  (logs ${shown(globalLog)})`);
    for (const cell of cells) {
      console.log(`${`cell-topo ${cell}:`.padEnd(22)}${cellAddresses.get(cell)}  (logs ${shown(join(dataDir, `cell-topo-${cell}.log`))})`);
    }
    for (const line of etcdLines) console.log(line);
    console.log(`cells registered: ${listed.join(', ')}`);
    console.log(`data: ${shown(dataDir)} (${memory ? 'logs only' : 'kept across restarts'}; \`make reset\` empties it)`);
    console.log('');
    const grpcurl = existsSync(join(repo, '.tools', 'bin', 'grpcurl')) ? '.tools/bin/grpcurl' : 'grpcurl';
    const firstCell = cells[0];
    const firstAddress = cellAddresses.get(firstCell);
    const g = globalTopoPort === 15999 ? '' : ` --global ${globalAddress}`;
    const grpcurlTls = operator ? `-cacert ${shown(operator.ca)} -cert ${shown(operator.cert)} -key ${shown(operator.key)}` : '-plaintext';
    if (operator) {
      console.log('mTLS is on: topoctl and grpcurl present the operator certificate (TLS=1 make demo uses the tablet and router ones):');
      console.log(`  export TOPO_GRPC_CA=${shown(operator.ca)} TOPO_GRPC_CERT=${shown(operator.cert)} TOPO_GRPC_KEY=${shown(operator.key)}`);
    }
    console.log('Try, in order (from the repository):');
    console.log(`  bin/topoctl${g} health`);
    console.log(`  bin/topoctl${g} keyspaces create commerce`);
    console.log(`  bin/topoctl${g} shards create commerce/-80`);
    console.log(`  ${grpcurl} ${grpcurlTls} ${globalAddress} list`);
    console.log(`  ${grpcurl} ${grpcurlTls} -d '{"name":"commerce"}' ${globalAddress} topo.global.v1.GlobalTopoService/GetKeyspace`);
    console.log(`  ${grpcurl} ${grpcurlTls} -d '{"keyspace":"commerce","name":"80-"}' ${globalAddress} topo.global.v1.GlobalTopoService/CreateShard`);
    console.log('Live, each until Ctrl-C (one terminal each):');
    console.log(`  bin/topoctl${g} tablets register ${firstCell}-100 --keyspace commerce --shard -80 --type REPLICA`);
    console.log(`  bin/topoctl${g} watch --cell ${firstCell}`);
    console.log(`  bin/topoctl${g} watch --path /`);
    console.log(`  ${grpcurl} ${grpcurlTls} -d '{"path":""}' ${globalAddress} topo.path.v1.PathService/WatchRecursive`);
    console.log(`  ${grpcurl} ${grpcurlTls} -d '{}' ${firstAddress} topo.cell.v1.CellTopoService/WatchTablets`);
    if (grpcurl === 'grpcurl') console.log('  (grpcurl: `make tools` installs the pinned one into .tools/bin)');
    console.log('');
    if (values['exit-after-start']) {
      await stopAll();
      return;
    }
    log('up; a process that dies is restarted; Ctrl-C stops everything');
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(`[up] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
