/**
 * Registration throughput and latency: RegisterTablet through cell-topo against the raw etcd
 * transaction of the same shape (Tablet record, Alive key on a lease, the shard's
 * ShardReplication, each guarded by a compare), at the same concurrency, same etcd, same run.
 * Each worker registers the tablets of its own shard, so no two writers contend on one
 * replication graph and every transaction commits the first time, in every variant.
 */
import { credentials } from '@grpc/grpc-js';
import { Etcd3, type ICompare, type IRequestOp } from 'etcd3';
import { unaryCall } from '../libs/client';
import { ShardReplication, Tablet, TabletType } from '../libs/proto';
import { CellTopoServiceClient } from '../libs/proto/gen/topo/cell/v1/cell';
import { shardReplicationPath, tabletAlivePath, tabletPath, validateTablet, withReplicationNode } from '../libs/topo';
// The raw baseline writes the same bytes the registry writes; the Alive format is internal to libs/topo.
import { encodeAliveMarker } from '../libs/topo/private/tablet-commit';
import { whenAvailable, type BenchStack } from './bench-stack';
import { CpuMeter } from './proc-stats';
import { elapsedMs, summarize, type Summary } from './stats';

const TTL_SECONDS = 60;
const FIRST_UID = 1000;

export interface RegistrationResult {
  what: string;
  summary: Summary;
  perSecond: number;
  /** % of one core while the row ran. */
  etcdCpu: number;
  cellTopoCpu?: number;
}

/** Worker w runs operations w, w + c, w + 2c, ... one at a time. */
async function timeOwned(count: number, concurrency: number, op: (index: number) => Promise<void>): Promise<{ summary: Summary; perSecond: number }> {
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = worker; i < count; i += concurrency) {
        const t = process.hrtime.bigint();
        await op(i);
        samples.push(elapsedMs(t));
      }
    }),
  );
  return { summary: summarize(samples), perSecond: count / (elapsedMs(started) / 1000) };
}

export async function measureRegistration(stack: BenchStack, count: number, concurrency: number): Promise<RegistrationResult[]> {
  const { cell, keyspace, shards } = stack.options;
  if (shards.length < concurrency) throw new Error(`registration at concurrency ${concurrency} needs as many shards, the stack has ${shards.length}`);
  const tabletOf = (index: number): Tablet =>
    validateTablet(
      Tablet.fromPartial({
        alias: { cell, uid: FIRST_UID + index },
        hostname: `tablet-${FIRST_UID + index}.bench`,
        portMap: { grpc: 16000, vt: 15000 },
        keyspace,
        shard: shards[index % concurrency],
        type: TabletType.REPLICA,
      }),
    );
  const results: RegistrationResult[] = [];
  const withCpu = async (what: string, run: () => Promise<{ summary: Summary; perSecond: number }>, cellTopoPid?: number): Promise<RegistrationResult> => {
    const etcd = new CpuMeter([stack.cellEtcdPid]);
    const cellTopo = cellTopoPid === undefined ? undefined : new CpuMeter([cellTopoPid]);
    const result = await run();
    return { what, ...result, etcdCpu: etcd.percentOfOneCore(), cellTopoCpu: cellTopo?.percentOfOneCore() };
  };
  const raw = new Etcd3({ hosts: stack.cellEtcd.endpoints });
  try {
    results.push(
      await withCpu(`raw etcd3 txn (Tablet, Alive on a lease, ShardReplication), c=${concurrency}`, () => rawTxnOnly(raw, count, concurrency, tabletOf)),
    );
    results.push(
      await withCpu(`raw etcd3, the registry's calls (3 reads and a lease grant at once, then the txn), c=${concurrency}`, () =>
        rawSameCalls(raw, count, concurrency, tabletOf),
      ),
    );
  } finally {
    raw.close();
  }

  const { address, pid } = await stack.startCellTopo();
  const client = new CellTopoServiceClient(address, credentials.createInsecure());
  const register = (tablet: Tablet): Promise<unknown> =>
    unaryCall(client.registerTablet.bind(client), {
      registration: {
        tablet,
        session: `bench-${tablet.alias!.uid}`,
        ttl: { seconds: String(TTL_SECONDS), nanos: 0 },
        takeover: false,
        leaseId: '0',
      },
    });
  try {
    // Untimed: waits out cell-topo's first read of the global topology and opens the channel.
    await whenAvailable(() => register({ ...tabletOf(0), alias: { cell, uid: FIRST_UID - 1 } }));
    results.push(
      await withCpu(
        `RegisterTablet via gRPC to cell-topo, c=${concurrency}`,
        () => timeOwned(count, concurrency, (i) => register(tabletOf(i)).then(() => undefined)),
        pid,
      ),
    );
  } finally {
    client.close();
    await stack.stopCellTopo();
  }
  return results;
}

interface KeyPaths {
  tablet: Buffer;
  alive: Buffer;
  replication: Buffer;
}

function keysUnder(root: string, tablet: Tablet): KeyPaths {
  return {
    tablet: Buffer.from(`${root}/${tabletPath(tablet.alias!)}`),
    alive: Buffer.from(`${root}/${tabletAlivePath(tablet.alias!)}`),
    replication: Buffer.from(`${root}/${shardReplicationPath(tablet.keyspace, tablet.shard)}`),
  };
}

/** The registry's transaction: both tablet keys absent, the replication graph as read. */
function registrationTxn(keys: KeyPaths, tablet: Tablet, leaseId: string, replication: { contents: ShardReplication; version: string }) {
  const absent = (key: Buffer): ICompare => ({ key, target: 'Create', result: 'Equal', create_revision: '0' });
  const read = (key: Buffer): IRequestOp => ({ request_range: { key } });
  const alive = encodeAliveMarker(
    { session: `bench-${tablet.alias!.uid}`, leaseId: BigInt(leaseId), ttlSeconds: TTL_SECONDS, time: new Date().toISOString() },
    tablet,
  );
  return {
    compare: [
      absent(keys.tablet),
      absent(keys.alive),
      replication.version === '0'
        ? absent(keys.replication)
        : ({ key: keys.replication, target: 'Mod', result: 'Equal', mod_revision: replication.version } as ICompare),
    ],
    success: [
      { request_put: { key: keys.tablet, value: Buffer.from(Tablet.encode(tablet).finish()) } },
      { request_put: { key: keys.alive, value: Buffer.from(alive), lease: leaseId } },
      { request_put: { key: keys.replication, value: Buffer.from(ShardReplication.encode(withReplicationNode(replication.contents, tablet.alias!)).finish()) } },
    ],
    failure: [read(keys.tablet), read(keys.alive), read(keys.replication)],
  };
}

/** Only the transaction: one lease for all, and each worker knows its graph from its own last write. */
async function rawTxnOnly(raw: Etcd3, count: number, concurrency: number, tabletOf: (i: number) => Tablet) {
  const root = '/bench/raw-txn';
  const { ID: leaseId } = await raw.leaseClient.leaseGrant({ TTL: TTL_SECONDS });
  const graphs = new Map<string, { contents: ShardReplication; version: string }>();
  return timeOwned(count, concurrency, async (i) => {
    const tablet = tabletOf(i);
    const keys = keysUnder(root, tablet);
    const graph = graphs.get(tablet.shard) ?? { contents: ShardReplication.fromPartial({}), version: '0' };
    const response = await raw.kv.txn(registrationTxn(keys, tablet, leaseId, graph));
    if (!response.succeeded) throw new Error('raw registration txn refused');
    graphs.set(tablet.shard, { contents: withReplicationNode(graph.contents, tablet.alias!), version: response.header.revision });
  });
}

/** The etcd calls the registry makes for a new tablet, in its order, without the service around them. */
async function rawSameCalls(raw: Etcd3, count: number, concurrency: number, tabletOf: (i: number) => Tablet) {
  const root = '/bench/raw-calls';
  return timeOwned(count, concurrency, async (i) => {
    const tablet = tabletOf(i);
    const keys = keysUnder(root, tablet);
    // The tablet, its Alive key, its replication graph and a lease, all at once; then the txn.
    const [, , grant, replication] = await Promise.all([
      raw.kv.range({ key: keys.tablet }),
      raw.kv.range({ key: keys.alive }),
      raw.leaseClient.leaseGrant({ TTL: TTL_SECONDS }),
      raw.kv.range({ key: keys.replication }),
    ]);
    const leaseId = grant.ID;
    const current = replication.kvs[0];
    const graph = current
      ? { contents: ShardReplication.decode(current.value), version: current.mod_revision }
      : { contents: ShardReplication.fromPartial({}), version: '0' };
    const response = await raw.kv.txn(registrationTxn(keys, tablet, leaseId, graph));
    if (!response.succeeded) throw new Error('raw registration txn refused');
  });
}
