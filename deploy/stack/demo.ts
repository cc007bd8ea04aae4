/**
 * The demo: simulated tablets in every cell come and go, and a router prints its live view
 * as it changes. Needs the stack running (`make up` in another terminal).
 *
 *   node -r ts-node/register/transpile-only deploy/stack/demo.ts [--global 127.0.0.1:15999] [--duration 30]
 */
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { RouterView, TabletAgent, type TabletViewChange } from '../../libs/client';
import { unaryCall } from '../../libs/client/unary-call';
import { Tablet, TabletType, tabletTypeToJSON } from '../../libs/proto';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';

const { values } = parseArgs({
  options: {
    global: { type: 'string', default: process.env.TOPO_GLOBAL_ADDRESS ?? '127.0.0.1:15999' },
    duration: { type: 'string', default: '0' },
    'tablets-per-cell': { type: 'string', default: '4' },
    'churn-ms': { type: 'string', default: '2000' },
  },
});

const SHARDS = ['-80', '80-'];
const TYPES = [TabletType.PRIMARY, TabletType.REPLICA, TabletType.REPLICA, TabletType.RDONLY];

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
  const global = new GlobalTopoServiceClient(values.global!, credentials.createInsecure());
  await ensure(unaryCall(global.createKeyspace.bind(global), { name: 'commerce', keyspace: undefined }));
  for (const shard of SHARDS) await ensure(unaryCall(global.createShard.bind(global), { keyspace: 'commerce', name: shard }));
  const cells = (await unaryCall(global.listCellInfos.bind(global), {})).names;
  const addresses = new Map<string, string>();
  for (const cell of cells) addresses.set(cell, (await unaryCall(global.getCellInfo.bind(global), { name: cell })).cellInfo!.serverAddress);
  global.close();

  const router = new RouterView({ globalAddress: values.global! });
  await router.start();
  const summary = (): string =>
    cells
      .map((cell) => `${cell}: ${SHARDS.map((s) => `${s}=${router.healthyTablets('commerce', s, TabletType.REPLICA, cell).length}`).join(' ')}`)
      .join('  |  ');
  router.on('change', (change: TabletViewChange) => console.log(`[router ${change.cell}] ${line(change)}   (healthy replicas ${summary()})`));

  const perCell = Number(values['tablets-per-cell']);
  const agents: TabletAgent[] = [];
  const make = (cell: string, i: number): TabletAgent =>
    new TabletAgent({
      address: addresses.get(cell)!,
      ttlSeconds: 3,
      tablet: Tablet.fromPartial({
        alias: { cell, uid: 1000 + i },
        hostname: `${cell}-tablet-${i}`,
        keyspace: 'commerce',
        shard: SHARDS[i % SHARDS.length],
        type: TYPES[i % TYPES.length],
        portMap: { grpc: 15000 + i },
      }),
    });
  for (const cell of cells) for (let i = 0; i < perCell; i++) agents.push(make(cell, i));
  await Promise.all(agents.map((agent) => agent.start()));
  console.log(`[demo] ${agents.length} tablets registered in ${cells.join(', ')}; Ctrl-C stops`);

  const running = new Set(agents);
  const churn = setInterval(() => {
    const index = Math.floor(Math.random() * agents.length);
    const agent = agents[index];
    if (running.has(agent)) {
      running.delete(agent);
      console.log(`[demo] stopping ${agent.session.split(':')[0]} tablet ${index}`);
      void agent.stop();
    } else {
      const cell = cells[Math.floor(index / perCell)];
      const fresh = make(cell, index % perCell);
      agents[index] = fresh;
      running.add(fresh);
      console.log(`[demo] starting tablet ${index} again`);
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
  console.error(`[demo] failed: ${e.details ?? e.message ?? String(err)}`);
  process.exit(1);
});
