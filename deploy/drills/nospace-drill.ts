/**
 * A full etcd: the cell's etcd runs with a small --quota-backend-bytes and is filled until
 * it raises NOSPACE. Writes must be refused with RESOURCE_EXHAUSTED naming the alarm,
 * health must say writes are refused, deleting and unregistering tablets must still work
 * (that is how space is freed), and once an operator compacts, defragments and disarms,
 * the service must accept writes again by itself.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { Tablet, TabletType } from '../../libs/proto';
import { HealthClient, HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { WRITES_HEALTH_SERVICE } from '../../libs/server/topo-server';
import { call } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { startCellTopo } from '../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { EtcdCluster } from '../etcd';

export interface NoSpaceDrillOptions {
  /** etcd --quota-backend-bytes. */
  quotaBytes: number;
  /** Tablets registered before the etcd fills up. */
  tablets: number;
  log?: (line: string) => void;
}

export interface NoSpaceFigures {
  /** Status code and message a tablet write got while NOSPACE was raised. */
  refusedCode: number;
  refusedMessage: string;
  /** Health while full: the whole server and the writes entry. */
  overallWhileFull: Status;
  writesWhileFull: Status;
  /** Reads while full. */
  listedWhileFull: number;
  /** Tablets deleted (DeleteTablet) and unregistered while full. */
  deletedWhileFull: number;
  unregisteredWhileFull: number;
  /** From the operator's disarm to the first accepted write, and to writes health SERVING. */
  recoveryWriteMs: number;
  recoveryHealthMs: number;
}

const tabletOf = (uid: number): Tablet =>
  Tablet.fromPartial({
    alias: { cell: 'zone1', uid },
    hostname: `host-${uid}.example`,
    keyspace: 'ks',
    shard: '-80',
    type: TabletType.REPLICA,
    portMap: { grpc: 16000 + (uid % 1000), vt: 15000 + (uid % 1000) },
  });
const aliasOf = (uid: number): string => `zone1-${String(uid).padStart(10, '0')}`;

export async function runNoSpaceDrill(options: NoSpaceDrillOptions): Promise<NoSpaceFigures> {
  const log = options.log ?? ((): void => undefined);
  const globalEtcd = await EtcdCluster.start();
  const cellEtcd = await EtcdCluster.start({ extraFlags: [`--quota-backend-bytes=${options.quotaBytes}`] });
  const raw = new Etcd3({ hosts: cellEtcd.endpoints, faultHandling: { global: noop, host: () => noop } });
  const global = await startGlobalTopo(globalEtcd.endpoints);
  const root = '/drill/nospace/zone1';
  const cell = await startCellTopo({ endpoints: cellEtcd.endpoints, root, cell: 'zone1', globalAddress: global.address });
  const health = new HealthClient(cell.address, credentials.createInsecure());
  const statusOf = async (service: string): Promise<Status> => (await call(health.check.bind(health), { service })).status;
  try {
    const g = global.client;
    await call(g.createKeyspace.bind(g), { name: 'ks', keyspace: undefined });
    await call(g.createShard.bind(g), { keyspace: 'ks', name: '-80' });
    await call(g.createCellInfo.bind(g), { name: 'zone1', cellInfo: { serverAddress: cell.address, root } });
    const c = cell.client;
    const sessions = new Map<number, string>();
    for (let uid = 1; uid <= options.tablets; uid++) {
      const session = `drill-${uid}`;
      await call(c.registerTablet.bind(c), {
        registration: { tablet: tabletOf(uid), session, ttl: { seconds: '60', nanos: 0 }, takeover: false, leaseId: '0' },
      });
      sessions.set(uid, session);
    }
    log(`registered ${options.tablets} tablets`);

    // Ballast outside the service's root fills the backend until etcd raises NOSPACE.
    const ballast = Buffer.alloc(64 * 1024, 'b');
    for (let i = 0; ; i++) {
      try {
        await raw.kv.put({ key: Buffer.from(`/ballast/${i}`), value: ballast });
      } catch {
        break;
      }
    }
    log(`etcd alarms: ${JSON.stringify((await raw.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' })).alarms)}`);

    let refused: ServiceError | undefined;
    try {
      await call(c.createTablet.bind(c), { tablet: tabletOf(options.tablets + 1) });
    } catch (err) {
      refused = err as ServiceError;
    }
    if (!refused) throw new Error('a write succeeded on a full etcd');
    await until('writes health NOT_SERVING', async () => (await statusOf(WRITES_HEALTH_SERVICE)) === Status.NOT_SERVING, 10_000);
    const overallWhileFull = await statusOf('');
    const writesWhileFull = await statusOf(WRITES_HEALTH_SERVICE);
    const listedWhileFull = (await call(c.listTablets.bind(c), { keyspace: '', shard: '', tabletTypes: [], pageSize: 0, pageToken: '' })).tablets.length;

    // Free space the way an operator's tooling would: drop tablets that are gone.
    const half = Math.floor(options.tablets / 2);
    let deletedWhileFull = 0;
    for (let uid = 1; uid <= half; uid++) {
      await call(c.deleteTablet.bind(c), { alias: aliasOf(uid) });
      deletedWhileFull++;
    }
    let unregisteredWhileFull = 0;
    for (let uid = half + 1; uid <= options.tablets; uid++) {
      await call(c.unregister.bind(c), { alias: aliasOf(uid), session: sessions.get(uid)! });
      unregisteredWhileFull++;
    }
    log(`while full: deleted ${deletedWhileFull}, unregistered ${unregisteredWhileFull}, listed ${listedWhileFull}`);

    // The operator: delete the ballast, compact, defragment, disarm.
    await raw.kv.deleteRange({ key: Buffer.from('/ballast/'), range_end: Buffer.from('/ballast0') });
    const revision = (await raw.maintenance.status()).header.revision;
    await raw.kv.compact({ revision, physical: true });
    await raw.maintenance.defragment();
    const alarms = (await raw.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' })).alarms;
    const disarmed = Date.now();
    for (const alarm of alarms) await raw.maintenance.alarm({ action: 'Deactivate', memberID: alarm.memberID, alarm: alarm.alarm });
    let recoveryWriteMs = -1;
    await until('a write accepted after disarm', async () => {
      try {
        await call(c.createTablet.bind(c), { tablet: tabletOf(options.tablets + 1) });
        recoveryWriteMs = Date.now() - disarmed;
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    await until('writes health SERVING', async () => (await statusOf(WRITES_HEALTH_SERVICE)) === Status.SERVING, 10_000);
    const recoveryHealthMs = Date.now() - disarmed;
    return {
      refusedCode: refused.code,
      refusedMessage: refused.details,
      overallWhileFull,
      writesWhileFull,
      listedWhileFull,
      deletedWhileFull,
      unregisteredWhileFull,
      recoveryWriteMs,
      recoveryHealthMs,
    };
  } finally {
    health.close();
    raw.close();
    await cell.stop();
    await global.stop();
    await cellEtcd.stop();
    await globalEtcd.stop();
  }
}
