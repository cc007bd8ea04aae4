/**
 * The demo: simulated tablets in every cell come and go, and a router prints its live view
 * as it changes. Needs the stack running (`make up` in another terminal).
 *
 *   node -r ts-node/register/transpile-only deploy/stack/demo.ts [--global 127.0.0.1:15999] [--duration 30]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { RouterView, TabletAgent, type TabletViewChange } from '../../libs/client';
import { unaryCall } from '../../libs/client/unary-call';
import { Tablet, TabletType, tabletTypeToJSON } from '../../libs/proto';
import { GlobalTopoServiceClient, UpdateShardFieldsRequest } from '../../libs/proto/gen/topo/global/v1/global';
import { channelCredentials, type ClientTlsFiles } from '../../libs/client/channel-credentials';
import { DEMO_FIRST_UID, DEMO_TABLETS_PER_CELL, stackTls } from './stack-tls';

// TLS=1: the certificates `TLS=1 make up` made: operator for setup, router, one per tablet.
const tls = process.env.TLS === '1' ? stackTls(join(process.env.DATA_DIR ?? '.data', 'tls')) : undefined;
const tlsFor = (name: string): ClientTlsFiles | undefined => tls && { ca: tls.ca, ...tls.files(name) };

const { values } = parseArgs({
  options: {
    global: { type: 'string', default: process.env.TOPO_GLOBAL_ADDRESS ?? '127.0.0.1:15999' },
    duration: { type: 'string', default: '0' },
    'tablets-per-cell': { type: 'string', default: '4' },
    'churn-ms': { type: 'string', default: '2000' },
  },
});

const SHARDS = ['-80', '80-'];
// The uids `TLS=1 make up` issues tablet certificates for.
const UID_BASE = DEMO_FIRST_UID;

/**
 * One primary per shard, in the first cell, as in a real deployment; every other tablet is
 * a replica, with every third an rdonly.
 */
function typeOf(cellIndex: number, i: number): TabletType {
  if (cellIndex === 0 && i < SHARDS.length) return TabletType.PRIMARY;
  return i % 3 === 2 ? TabletType.RDONLY : TabletType.REPLICA;
}

const aliasOf = (cell: string, i: number): string => `${cell}-${String(UID_BASE + i).padStart(10, '0')}`;

async function ensure(what: Promise<unknown>): Promise<void> {
  await what.catch((err: { code?: number }) => {
    if (err.code !== 6) throw err; // ALREADY_EXISTS: a previous demo made it
  });
}

function line(change: TabletViewChange): string {
  const t = change.entry?.tablet;
  const state = change.entry === undefined ? 'removed' : change.entry.alive ? 'alive' : 'not alive';
  return t ? `${change.alias.padEnd(18)} ${tabletTypeToJSON(t.type).padEnd(8)} ${t.keyspace}/${t.shard.padEnd(4)} ${state}` : `${change.alias.padEnd(18)} ${state}`;
}

async function main(): Promise<void> {
  const global = new GlobalTopoServiceClient(values.global!, channelCredentials(tlsFor('operator')));
  await ensure(unaryCall(global.createKeyspace.bind(global), { name: 'commerce', keyspace: undefined }));
  for (const shard of SHARDS) await ensure(unaryCall(global.createShard.bind(global), { keyspace: 'commerce', name: shard }));
  const cells = (await unaryCall(global.listCellInfos.bind(global), {})).names;
  if (cells.length === 0) throw new Error(`no cell is registered in the global topology at ${values.global}: start the stack with \`make up\``);
  const addresses = new Map<string, string>();
  for (const cell of cells) addresses.set(cell, (await unaryCall(global.getCellInfo.bind(global), { name: cell })).cellInfo!.serverAddress);
  // The shard records name the primaries the demo runs, as a reparent would have left them.
  const now = Date.now();
  for (const [i, shard] of SHARDS.entries()) {
    await unaryCall(
      global.updateShardFields.bind(global),
      UpdateShardFieldsRequest.fromPartial({
        keyspace: 'commerce',
        name: shard,
        primaryAlias: { cell: cells[0], uid: UID_BASE + i },
        primaryTermStartTime: { seconds: String(Math.floor(now / 1000)), nanoseconds: (now % 1000) * 1_000_000 },
      }),
    );
  }
  global.close();

  const router = new RouterView({ globalAddress: values.global!, tls: tlsFor('router') });
  await router.start();
  const summary = (): string =>
    cells
      .map((cell) => `${cell}: ${SHARDS.map((s) => `${s}=${router.healthyTablets('commerce', s, TabletType.REPLICA, cell).length}`).join(' ')}`)
      .join('  |  ');
  // A registration writes the tablet record before its liveness: the record alone, seen
  // first, is not worth a "not alive" line for a tablet the demo is starting.
  const starting = new Set<string>();
  router.on('change', (change: TabletViewChange) => {
    if (starting.has(change.alias) && change.entry !== undefined && !change.entry.alive) return;
    if (change.entry?.alive) starting.delete(change.alias);
    console.log(`[router ${change.cell}] ${line(change)}   (healthy replicas ${summary()})`);
  });

  const perCell = Number(values['tablets-per-cell']);
  if (tls && perCell > DEMO_TABLETS_PER_CELL) throw new Error(`TLS=1: make up issued certificates for ${DEMO_TABLETS_PER_CELL} tablets per cell`);
  const agents: TabletAgent[] = [];
  const make = (cell: string, i: number): TabletAgent => {
    starting.add(aliasOf(cell, i));
    return new TabletAgent({
      address: addresses.get(cell)!,
      ttlSeconds: 3,
      tls: tlsFor(`tablet-${cell}-${UID_BASE + i}`),
      tablet: Tablet.fromPartial({
        alias: { cell, uid: UID_BASE + i },
        hostname: `${cell}-tablet-${UID_BASE + i}`,
        keyspace: 'commerce',
        shard: SHARDS[i % SHARDS.length],
        type: typeOf(cells.indexOf(cell), i),
        portMap: { grpc: 15000 + i },
      }),
    });
  };
  for (const cell of cells) for (let i = 0; i < perCell; i++) agents.push(make(cell, i));
  await Promise.all(agents.map((agent) => agent.start()));
  console.log(`[demo] ${agents.length} tablets registered in ${cells.join(', ')}; Ctrl-C stops`);

  const running = new Set(agents);
  const churn = setInterval(() => {
    const index = Math.floor(Math.random() * agents.length);
    const agent = agents[index];
    const cell = cells[Math.floor(index / perCell)];
    const alias = aliasOf(cell, index % perCell);
    if (running.has(agent)) {
      running.delete(agent);
      console.log(`[demo] stopping tablet ${alias}`);
      void agent.stop();
    } else {
      const fresh = make(cell, index % perCell);
      agents[index] = fresh;
      running.add(fresh);
      console.log(`[demo] starting tablet ${alias} again`);
      void fresh.start().catch(() => undefined);
    }
  }, Number(values['churn-ms']));

  const stop = async (): Promise<void> => {
    clearInterval(churn);
    await Promise.all([...running].map((agent) => agent.stop()));
    router.close();
    console.log('[demo] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const duration = Number(values.duration);
  if (duration > 0) setTimeout(() => void stop(), duration * 1000);
}

main().catch((err: unknown) => {
  const e = err as { code?: number; details?: string; message?: string };
  // UNAVAILABLE: nothing answers at the address.
  if (e.code === 14) {
    console.error(`[demo] failed: no global-topo answers at ${values.global} (UNAVAILABLE): start the stack with \`make up\` in another terminal, or pass --global host:port`);
  } else {
    console.error(`[demo] failed: ${e.details ?? e.message ?? String(err)}`);
  }
  process.exit(1);
});
