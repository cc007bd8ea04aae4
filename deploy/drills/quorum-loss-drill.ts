/**
 * Quorum loss: two of global-topo's three etcd members are SIGKILLed. Every kind of RPC
 * must end within a bound (UNAVAILABLE or DEADLINE_EXCEEDED, never a hang to the client's
 * own deadline), health must go NOT_SERVING, and writes must succeed again soon after the
 * members come back.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { HealthClient, HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { LockKind } from '../../libs/proto/gen/topo/global/v1/global';
import { call } from '../../libs/testing/grpc-call';
import { until } from '../../libs/testing/until';
import { startGlobalTopo } from '../../services/global-topo/global-topo.fixture';
import { EtcdCluster } from '../etcd';

export interface QuorumLossOptions {
  /** Rounds of every RPC kind during the outage. */
  rounds: number;
  /** The client's own deadline: an RPC still running then counts as unbounded. */
  clientDeadlineMs: number;
  log?: (line: string) => void;
}

export interface QuorumLossFigures {
  /** RPC kind -> slowest answer during the outage, ms. */
  slowestMs: Record<string, number>;
  /** RPC kind -> status codes seen. */
  codes: Record<string, number[]>;
  /** Calls that ran to the client's deadline. */
  unbounded: number;
  healthDuringOutage: Status;
  /** From the members' restart to the first acknowledged write. */
  writesBackMs: number;
}

export async function runQuorumLossDrill(options: QuorumLossOptions): Promise<QuorumLossFigures> {
  const log = options.log ?? ((): void => undefined);
  const etcd = await EtcdCluster.start({ members: 3 });
  const topo = await startGlobalTopo(etcd.endpoints);
  const health = new HealthClient(topo.address, credentials.createInsecure());
  const g = topo.client;
  const p = topo.path;
  try {
    await call(g.createKeyspace.bind(g), { name: 'drill', keyspace: undefined });
    await call(p.update.bind(p), { path: 'drill/file', contents: Buffer.from('v0'), version: '0' });
    const rpcs: Record<string, (deadlineMs: number) => Promise<unknown>> = {
      GetKeyspace: (ms) => call(g.getKeyspace.bind(g), { name: 'drill' }, ms),
      ListKeyspaces: (ms) => call(g.listKeyspaces.bind(g), {}, ms),
      CreateShard: (ms) => call(g.createShard.bind(g), { keyspace: 'drill', name: '-80' }, ms),
      PathGet: (ms) => call(p.get.bind(p), { path: 'drill/file' }, ms),
      PathList: (ms) => call(p.list.bind(p), { prefix: 'drill/', pageSize: 0, pageToken: '' }, ms),
      PathUpdate: (ms) => call(p.update.bind(p), { path: 'drill/file', contents: Buffer.from('v1'), version: '0' }, ms),
      Lock: (ms) =>
        new Promise((resolve, reject) => {
          const stream = g.lock(
            { target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'drill', shard: '', name: '', path: '' }, holder: 'drill', action: 'quorum loss', tryOnly: false },
            new Metadata(),
            { deadline: new Date(Date.now() + ms) },
          );
          stream.on('data', () => {
            stream.cancel();
            resolve(undefined);
          });
          stream.on('error', reject);
        }),
    };
    const [kept, ...lost] = etcd.members;
    for (const member of lost) await member.kill();
    log(`killed ${lost.map((m) => m.name).join(', ')}; ${kept.name} alone`);
    const slowestMs: Record<string, number> = {};
    const codes: Record<string, number[]> = {};
    let unbounded = 0;
    for (let round = 0; round < options.rounds; round++) {
      await Promise.all(
        Object.entries(rpcs).map(async ([name, rpc]) => {
          const started = Date.now();
          let code = status.OK as number;
          try {
            await rpc(options.clientDeadlineMs);
          } catch (err) {
            code = (err as ServiceError).code;
          }
          const took = Date.now() - started;
          if (took >= options.clientDeadlineMs - 50) unbounded++;
          slowestMs[name] = Math.max(slowestMs[name] ?? 0, took);
          (codes[name] ??= []).includes(code) || codes[name].push(code);
        }),
      );
    }
    await until('health NOT_SERVING', async () => (await call(health.check.bind(health), { service: '' })).status === Status.NOT_SERVING, 15_000);
    const healthDuringOutage = (await call(health.check.bind(health), { service: '' })).status;
    const restarted = Date.now();
    await Promise.all(lost.map((member) => member.restart()));
    let writesBackMs = -1;
    await until('a write acknowledged after the restart', async () => {
      try {
        await call(p.update.bind(p), { path: 'drill/file', contents: Buffer.from('back'), version: '0' }, 2000);
        writesBackMs = Date.now() - restarted;
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    log(`writes back ${writesBackMs} ms after the restart`);
    return { slowestMs, codes, unbounded, healthDuringOutage, writesBackMs };
  } finally {
    health.close();
    await topo.stop();
    await etcd.stop();
  }
}
