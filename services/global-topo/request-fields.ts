import type { Duration } from '../../libs/proto/gen/google/protobuf/duration';
import { LockKind, type Fence as WireFence, type LockTarget } from '../../libs/proto/gen/topo/global/v1/global';
import { invalidArgument, requireRevision } from '../../libs/server';
import { fromVitessPath, type Fence } from '../../libs/store';
import { keyspaceLockDir, namedLockDir, shardLockDir } from '../../libs/topo';

/** Request fields the global API shares, turned into what libs/topo takes, or INVALID_ARGUMENT. */

export function fenceOf(fence: WireFence | undefined, field = 'fence'): Fence | undefined {
  if (!fence) return undefined;
  if (fence.lockId === '') throw invalidArgument(`${field}.lock_id`, 'is empty');
  return { lockPath: fence.lockId, token: requireRevision(`${field}.fencing_token`, fence.fencingToken) };
}

/** Milliseconds of a Duration; undefined when unset. */
export function durationMs(duration: Duration | undefined, field: string, maxMs: number): number | undefined {
  if (!duration) return undefined;
  const seconds = Number(duration.seconds);
  if (!Number.isFinite(seconds) || seconds < 0 || duration.nanos < 0) throw invalidArgument(field, 'must not be negative');
  const ms = seconds * 1000 + Math.ceil(duration.nanos / 1e6);
  if (ms > maxMs) throw invalidArgument(field, `must be at most ${maxMs / 1000}s`);
  return ms;
}

export type ResolvedTarget =
  | { kind: 'keyspace'; keyspace: string; dir: string }
  | { kind: 'shard'; keyspace: string; shard: string; dir: string }
  | { kind: 'named'; name: string; dir: string }
  | { kind: 'path'; dir: string };

export function lockTarget(target: LockTarget | undefined, field = 'target'): ResolvedTarget {
  if (!target) throw invalidArgument(field, 'is required');
  switch (target.kind) {
    case LockKind.LOCK_KIND_KEYSPACE:
      return { kind: 'keyspace', keyspace: target.keyspace, dir: keyspaceLockDir(target.keyspace) };
    case LockKind.LOCK_KIND_SHARD:
      return { kind: 'shard', keyspace: target.keyspace, shard: target.shard, dir: shardLockDir(target.keyspace, target.shard) };
    case LockKind.LOCK_KIND_NAMED:
      if (target.path !== '') {
        if (target.name !== '') throw invalidArgument(`${field}.path`, 'is given: leave name empty');
        return { kind: 'named', name: '', dir: fromVitessPath(target.path) };
      }
      return { kind: 'named', name: target.name, dir: namedLockDir(target.name) };
    case LockKind.LOCK_KIND_PATH:
      if (target.path === '') throw invalidArgument(`${field}.path`, 'is required for LOCK_KIND_PATH');
      return { kind: 'path', dir: fromVitessPath(target.path) };
    case LockKind.LOCK_KIND_UNSPECIFIED:
      throw invalidArgument(`${field}.kind`, 'is required: LOCK_KIND_KEYSPACE, LOCK_KIND_SHARD, LOCK_KIND_NAMED or LOCK_KIND_PATH');
    default:
      throw invalidArgument(`${field}.kind`, `unknown value ${String(target.kind)}`);
  }
}

/** The wire form of a lock's target, recovered from its lock directory; `path` is always the directory. */
export function targetOfDir(dir: string): LockTarget {
  const shard = /^keyspaces\/([^/]+)\/shards\/([^/]+)$/.exec(dir);
  if (shard) return { kind: LockKind.LOCK_KIND_SHARD, keyspace: shard[1], shard: shard[2], name: '', path: dir };
  const keyspace = /^keyspaces\/([^/]+)$/.exec(dir);
  if (keyspace) return { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: keyspace[1], shard: '', name: '', path: dir };
  const named = /^internal\/named_locks\/(.+)$/.exec(dir);
  if (named) return { kind: LockKind.LOCK_KIND_NAMED, keyspace: '', shard: '', name: named[1], path: dir };
  return { kind: LockKind.LOCK_KIND_PATH, keyspace: '', shard: '', name: '', path: dir };
}
