/**
 * One transaction per tablet change: the Tablet record, its Alive key and the replication
 * graph of the shards it leaves and joins, guarded by the versions read before, so the
 * replication graph can never go out of step with the tablet records.
 */
import { ShardReplication, Tablet, type TabletAlias } from '../../proto';
import {
  TopoError,
  TopoErrorCode,
  type CommitOp,
  type CommitRequest,
  type Fence,
  type Store,
  type Version,
  type VersionedValue,
} from '../../store';
import { shardReplicationPath, tabletAlivePath, tabletPath } from '../paths';
import { withReplicationNode, withoutReplicationNode } from '../shard-replication';
import { MAX_UPDATE_ATTEMPTS } from './proto-record';

/** What a tablet's Alive key says: who registered it, and the lease that keeps it. */
export interface AliveMarker {
  session: string;
  leaseId: bigint;
  ttlSeconds: number;
  /** When this session bound the tablet to this lease, ISO 8601 UTC. */
  time: string;
  /** The caller's verified certificate identity, when it had one (docs/security.md). */
  identity?: string;
}

/**
 * The tablet fields watch filters select on, copied into the Alive key so a liveness
 * change can be filtered (keyspace, shard, tablet type) without reading the record.
 */
export interface AliveRouting {
  keyspace: string;
  shard: string;
  type: number;
}

interface AliveJson {
  session: string;
  lease_id: string;
  ttl_seconds: number;
  time: string;
  identity?: string;
  keyspace?: string;
  shard?: string;
  type?: number;
}

export function encodeAliveMarker(marker: AliveMarker, tablet?: Tablet): Uint8Array {
  const json: AliveJson = {
    session: marker.session,
    // Decimal string: lease ids are 64-bit and JSON numbers are not.
    lease_id: marker.leaseId.toString(),
    ttl_seconds: marker.ttlSeconds,
    time: marker.time,
    ...(marker.identity !== undefined ? { identity: marker.identity } : {}),
    ...(tablet ? { keyspace: tablet.keyspace, shard: tablet.shard, type: tablet.type } : {}),
  };
  return Buffer.from(JSON.stringify(json));
}

/** The routing fields an Alive key carries, or undefined when it has none. */
export function parseAliveRouting(contents: Uint8Array): AliveRouting | undefined {
  try {
    const json = JSON.parse(Buffer.from(contents).toString('utf8')) as Partial<AliveJson>;
    if (typeof json.keyspace !== 'string' || typeof json.shard !== 'string' || typeof json.type !== 'number') return undefined;
    return { keyspace: json.keyspace, shard: json.shard, type: json.type };
  } catch {
    return undefined;
  }
}

function routingChanged(before: Tablet | undefined, after: Tablet): boolean {
  return !before || before.keyspace !== after.keyspace || before.shard !== after.shard || before.type !== after.type;
}

/** The marker, or undefined for contents in another format (written by some other tool). */
export function parseAliveMarker(contents: Uint8Array): AliveMarker | undefined {
  try {
    const json = JSON.parse(Buffer.from(contents).toString('utf8')) as Partial<AliveJson>;
    if (typeof json.session !== 'string' || typeof json.lease_id !== 'string' || !/^[0-9]+$/.test(json.lease_id)) return undefined;
    return {
      session: json.session,
      leaseId: BigInt(json.lease_id),
      ttlSeconds: typeof json.ttl_seconds === 'number' ? json.ttl_seconds : 0,
      time: typeof json.time === 'string' ? json.time : '',
      ...(typeof json.identity === 'string' ? { identity: json.identity } : {}),
    };
  } catch {
    return undefined;
  }
}

export interface TabletState {
  alias: TabletAlias;
  tablet?: { value: Tablet; contents: Uint8Array; version: Version };
  alive?: { marker: AliveMarker | undefined; version: Version };
}

function absentOnNoNode(err: unknown): undefined {
  if (TopoError.is(err, TopoErrorCode.NoNode)) return undefined;
  throw err;
}

/** The tablet's record and Alive key as they are now, each with its version. */
export async function readTabletState(store: Store, alias: TabletAlias): Promise<TabletState> {
  const [tablet, alive] = await Promise.all([
    store.get(tabletPath(alias)).catch(absentOnNoNode),
    store.get(tabletAlivePath(alias)).catch(absentOnNoNode),
  ]);
  return {
    alias,
    tablet: tablet && { value: Tablet.decode(tablet.contents), contents: tablet.contents, version: tablet.version },
    alive: alive && { marker: parseAliveMarker(alive.contents), version: alive.version },
  };
}

/**
 * What a process already knows of the store without asking it (a watch hub's cache of the
 * cell): `{ value }` for a file it follows (value undefined: no such file), undefined when
 * it cannot say. It may lag the store by a moment; the commit's compares catch that.
 */
export interface ReadCache {
  peek(path: string): { value?: VersionedValue } | undefined;
}

/** The tablet's state as the cache has it, or undefined when the cache cannot say. */
export function cachedTabletState(cache: ReadCache | undefined, alias: TabletAlias): TabletState | undefined {
  const tablet = cache?.peek(tabletPath(alias));
  const alive = tablet && cache!.peek(tabletAlivePath(alias));
  if (!tablet || !alive) return undefined;
  return {
    alias,
    tablet: tablet.value && { value: Tablet.decode(tablet.value.contents), contents: tablet.value.contents, version: tablet.value.version },
    alive: alive.value && { marker: parseAliveMarker(alive.value.contents), version: alive.value.version },
  };
}

export type TabletChange =
  /** Leave the record, and so its replication-graph node, as they are. */
  | { type: 'keep' }
  | { type: 'delete' }
  | { type: 'put'; tablet: Tablet };

export type AliveChange = { type: 'keep' } | { type: 'delete' } | { type: 'put'; marker: AliveMarker };

/** The replication graph a stored tablet belongs to; undefined when its names are not valid ones. */
function replicationPathOf(tablet: Tablet): string | undefined {
  try {
    return shardReplicationPath(tablet.keyspace, tablet.shard);
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * The commit applying `change` and `alive` to the tablet read as `state`: the Tablet record,
 * its Alive key, and its node moved between replication graphs, every file involved
 * expected at the version read (or absent), so a concurrent writer makes the commit fail
 * with BadVersion rather than interleave. A replication graph left without nodes is
 * deleted. The request has no ops when nothing would change.
 */
export async function planTabletCommit(
  store: Store,
  state: TabletState,
  change: TabletChange,
  alive: AliveChange,
  fence?: Fence,
  prefetched?: ReadonlyMap<string, VersionedValue | undefined>,
): Promise<CommitRequest> {
  const recordPath = tabletPath(state.alias);
  const alivePath = tabletAlivePath(state.alias);
  const expect: CommitRequest['expect'] = [
    { path: recordPath, version: state.tablet?.version ?? 0n },
    { path: alivePath, version: state.alive?.version ?? 0n },
  ];
  const ops: CommitOp[] = [];

  if (change.type === 'put') {
    const contents = Tablet.encode(change.tablet).finish();
    if (!state.tablet || !sameBytes(contents, state.tablet.contents)) ops.push({ type: 'put', path: recordPath, contents });
  } else if (change.type === 'delete' && state.tablet) {
    ops.push({ type: 'delete', path: recordPath });
  }

  const finalTablet = change.type === 'put' ? change.tablet : change.type === 'keep' ? state.tablet?.value : undefined;
  if (alive.type === 'put') {
    ops.push({ type: 'put', path: alivePath, contents: encodeAliveMarker(alive.marker, finalTablet), lease: alive.marker.leaseId });
  } else if (alive.type === 'keep' && state.alive?.marker && change.type === 'put' && routingChanged(state.tablet?.value, change.tablet)) {
    // Keep the copy of the routing fields in step, on the same lease.
    const marker = state.alive.marker;
    ops.push({ type: 'put', path: alivePath, contents: encodeAliveMarker(marker, change.tablet), lease: marker.leaseId });
  } else if (alive.type === 'delete' && state.alive) {
    ops.push({ type: 'delete', path: alivePath });
  }

  if (change.type !== 'keep') {
    const leaving = state.tablet ? replicationPathOf(state.tablet.value) : undefined;
    const joining = change.type === 'put' ? shardReplicationPath(change.tablet.keyspace, change.tablet.shard) : undefined;
    for (const path of new Set([leaving, joining])) {
      if (path === undefined) continue;
      // A replication graph read alongside the tablet's state saves a round trip; any
      // change since is caught by the version the commit expects.
      const current = prefetched?.has(path) ? prefetched.get(path) : await store.get(path).catch(absentOnNoNode);
      expect.push({ path, version: current?.version ?? 0n });
      const before = current ? ShardReplication.decode(current.contents) : { nodes: [] };
      const after = path === joining ? withReplicationNode(before, state.alias) : withoutReplicationNode(before, state.alias);
      const contents = ShardReplication.encode(after).finish();
      if (current && sameBytes(contents, current.contents)) continue;
      if (after.nodes.length > 0) {
        ops.push({ type: 'put', path, contents });
      } else if (current) {
        ops.push({ type: 'delete', path });
      }
    }
  }
  return { expect, ops, fence };
}


/** A replication graph as it is now, or undefined when it does not exist. */
export function readReplication(store: Store, keyspace: string, shard: string): Promise<VersionedValue | undefined> {
  return store.get(shardReplicationPath(keyspace, shard)).catch(absentOnNoNode);
}

/**
 * The commit's revision, or undefined when a file moved since it was read: read again and
 * retry. A `removal` refused because the backend is full (etcd NOSPACE refuses any
 * transaction with a put) is committed without its puts: the tablet's keys go, which frees
 * space, and its node stays in the replication graph until the graph is next rewritten, as
 * Vitess's DeleteTablet leaves it when its second write fails.
 */
export async function tryCommit(store: Store, request: CommitRequest, removal = false): Promise<Version | undefined> {
  try {
    return await store.commit(request);
  } catch (err) {
    if (TopoError.is(err, TopoErrorCode.BadVersion)) return undefined;
    const deletes = request.ops.filter((op) => op.type === 'delete');
    if (removal && TopoError.is(err, TopoErrorCode.NoSpace) && deletes.length > 0 && deletes.length < request.ops.length) {
      return tryCommit(store, { ...request, ops: deletes });
    }
    throw err;
  }
}

/** Rounds of read-and-commit before a contended tablet write gives up. */
export const MAX_TABLET_COMMIT_ATTEMPTS = MAX_UPDATE_ATTEMPTS;

export function gaveUp(label: string): TopoError {
  return new TopoError(
    TopoErrorCode.BadVersion,
    `${label} or its shard's replication graph kept changing: gave up after ${MAX_TABLET_COMMIT_ATTEMPTS} attempts`,
  );
}
