import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_LOCK_TTL_SECONDS, TopoError, TopoErrorCode, type LeaderParticipation, type LockDescriptor, type StoreInterceptors } from '../../store';

export const STORE_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOCK_WAIT_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

interface HeldLock {
  path: string;
  since: number;
  /** Locks left to their TTL (keepAlive false) are forgotten when it runs out. */
  expiresAt?: number;
}

/**
 * Store operations counted as Vitess's StatsConn counts them (operations, errors and
 * latency by operation and cell), plus what this process holds through the store: locks
 * granted and waited for, with their ages, and leader-election participations.
 */
export function storeMetrics(registry: Registry, cell: string, now: () => number = Date.now): StoreInterceptors {
  const operations = new Counter({
    name: 'topo_store_operations_total',
    help: 'Store operations started, by operation and cell (Vitess: TopologyConnOperations).',
    labelNames: ['operation', 'cell'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'topo_store_errors_total',
    help: 'Store operations that failed, by operation, cell and error code (Vitess: TopologyConnErrors).',
    labelNames: ['operation', 'cell', 'code'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'topo_store_operation_duration_seconds',
    help: 'Store operation latency, seconds (Vitess: TopologyConnLatency). Lock: includes the wait.',
    labelNames: ['operation', 'cell'],
    buckets: STORE_SECONDS_BUCKETS,
    registers: [registry],
  });
  const lockWait = new Histogram({
    name: 'topo_lock_wait_seconds',
    help: 'Time from asking for a lock to being granted it (or giving up), seconds.',
    labelNames: ['outcome'],
    buckets: LOCK_WAIT_BUCKETS,
    registers: [registry],
  });

  const held = new Map<string, HeldLock>();
  const waiting = new Map<number, number>();
  let nextWait = 0;
  const participations = new Set<{ leader: boolean }>();
  const oldest = (times: Iterable<number>): number => {
    let min = Infinity;
    for (const t of times) min = Math.min(min, t);
    return min === Infinity ? 0 : (now() - min) / 1000;
  };
  const liveLocks = (): HeldLock[] => {
    const t = now();
    for (const [key, lock] of held) if (lock.expiresAt !== undefined && lock.expiresAt <= t) held.delete(key);
    return [...held.values()];
  };
  new Gauge({
    name: 'topo_locks_held',
    help: 'Locks this process holds for its callers.',
    registers: [registry],
    collect() {
      this.set(liveLocks().length);
    },
  });
  new Gauge({
    name: 'topo_lock_oldest_held_age_seconds',
    help: 'Age of the oldest lock this process holds, seconds (0 when none).',
    registers: [registry],
    collect() {
      this.set(oldest(liveLocks().map((lock) => lock.since)));
    },
  });
  new Gauge({
    name: 'topo_locks_waiting',
    help: 'Lock requests this process is waiting on.',
    registers: [registry],
    collect() {
      this.set(waiting.size);
    },
  });
  new Gauge({
    name: 'topo_lock_oldest_wait_age_seconds',
    help: 'How long the oldest waiting lock request has waited, seconds (0 when none).',
    registers: [registry],
    collect() {
      this.set(oldest(waiting.values()));
    },
  });
  new Gauge({
    name: 'topo_election_participants',
    help: 'Leader-election participations open in this process.',
    registers: [registry],
    collect() {
      this.set(participations.size);
    },
  });
  new Gauge({
    name: 'topo_election_leaderships',
    help: 'Elections this process currently leads.',
    registers: [registry],
    collect() {
      this.set([...participations].filter((p) => p.leader).length);
    },
  });

  // Leases granted or kept alive through the store (tablet sessions), until revoked, found
  // gone, or past the TTL of their last grant or refresh.
  const leases = new Map<bigint, number>();
  new Gauge({
    name: 'topo_leases_held',
    help: 'Leases granted or refreshed through this process and not yet expired or revoked (tablet liveness sessions).',
    registers: [registry],
    collect() {
      const t = now();
      for (const [id, expiresAt] of leases) if (expiresAt <= t) leases.delete(id);
      this.set(leases.size);
    },
  });
  const observeLease = (operation: string, id: bigint | undefined, result: unknown, err: unknown): void => {
    if (operation === 'GrantLease' && err === undefined) {
      const lease = result as { id: bigint; ttlSeconds: number };
      leases.set(lease.id, now() + lease.ttlSeconds * 1000);
    } else if (operation === 'KeepAliveLease' && id !== undefined) {
      if (err === undefined) leases.set(id, now() + (result as number) * 1000);
      else if (TopoError.is(err, TopoErrorCode.NoNode)) leases.delete(id);
    } else if (operation === 'RevokeLease' && id !== undefined && err === undefined) {
      leases.delete(id);
    }
  };

  const lockKey = (path: string, token: bigint): string => `${path}\u0000${token}`;
  const track = (lock: LockDescriptor, ttlSeconds: number | undefined, keepAlive: boolean): void => {
    const key = lockKey(lock.path, lock.token);
    held.set(key, { path: lock.path, since: now(), expiresAt: keepAlive ? undefined : now() + (ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS) * 1000 });
    lock.lost.addEventListener('abort', () => held.delete(key), { once: true });
  };

  return {
    calls: [
      async (call, next) => {
        const labels = { operation: call.operation, cell };
        operations.inc(labels);
        const begun = process.hrtime.bigint();
        const isLock = call.operation === 'Lock' || call.operation === 'LockName' || call.operation === 'TryLock';
        const wait = isLock ? nextWait++ : -1;
        if (isLock) waiting.set(wait, now());
        let granted = false;
        try {
          const result = await next();
          if (isLock) {
            const options = call.lockOptions;
            track(result as LockDescriptor, options?.ttlSeconds, options?.keepAlive !== false);
            granted = true;
          }
          observeLease(call.operation, call.leaseId, result, undefined);
          return result;
        } catch (err) {
          observeLease(call.operation, call.leaseId, undefined, err);
          errors.inc({ ...labels, code: TopoError.is(err) ? err.code : 'Internal' });
          throw err;
        } finally {
          // A failed unlock revokes the lock's lease: the lock is gone either way.
          if (call.operation === 'Unlock' && call.token !== undefined) held.delete(lockKey(call.path, call.token));
          const elapsed = Number(process.hrtime.bigint() - begun) / 1e9;
          seconds.observe(labels, elapsed);
          if (isLock) {
            waiting.delete(wait);
            lockWait.observe({ outcome: granted ? 'granted' : 'failed' }, elapsed);
          }
        }
      },
    ],
    participations: [
      (_name: string, _id: string, participation: LeaderParticipation): LeaderParticipation => {
        const state = { leader: false };
        participations.add(state);
        return {
          waitForLeadership: async () => {
            const lost = await participation.waitForLeadership();
            state.leader = true;
            lost.addEventListener('abort', () => (state.leader = false), { once: true });
            return lost;
          },
          stop: async () => {
            participations.delete(state);
            await participation.stop();
          },
          getCurrentLeaderId: () => participation.getCurrentLeaderId(),
          leadership: () => participation.leadership(),
          waitForNewLeader: (signal) => participation.waitForNewLeader(signal),
        };
      },
    ],
  };
}
