/**
 * Tablet registration in a cell's topology. A tablet's host registers it and keeps the
 * returned lease alive; the tablet is alive exactly while its `tablets/<alias>/Alive` key,
 * bound to that lease, exists. Registration writes the Tablet record (upsert), the Alive
 * key and the shard's replication-graph node in one transaction guarded by the versions
 * read before, so two hosts racing for one alias cannot both win and the replication
 * graph never goes out of step with the records. When the lease ends only the Alive key
 * goes: the record and the node stay, as Vitess keeps tablets that are not serving.
 */
import type { Tablet, TabletAlias } from '../proto';
import { TopoError, TopoErrorCode, type Store, type Version } from '../store';
import { describeChar, fieldError, quote } from './private/field-error';
import { LeasePool } from './private/lease-pool';
import { ReplicationBatcher } from './private/replication-batcher';
import {
  MAX_TABLET_COMMIT_ATTEMPTS,
  cachedTabletState,
  gaveUp,
  planTabletCommit,
  readReplication,
  readTabletState,
  tryCommit,
  type AliveChange,
  type AliveMarker,
  type ReadCache,
  type TabletState,
} from './private/tablet-commit';
import { revokeQuietly, tabletLabel, validateTablet } from './tablet';
import { shardReplicationPath } from './paths';
import { validateCellName, validateTabletAlias } from './validation';

export const DEFAULT_TABLET_TTL_SECONDS = 10;
export const MIN_TABLET_TTL_SECONDS = 1;
export const MAX_TABLET_TTL_SECONDS = 60;
export const MAX_SESSION_LENGTH = 256;
const MAX_LEASE_ID = 2n ** 63n - 1n;

export interface TabletRegistryOptions {
  /** TTL of a registration that does not ask for one. Default 10 s. */
  defaultTtlSeconds?: number;
  /** Bounds on the TTL a registration may ask for. Default 1 s to 60 s. */
  minTtlSeconds?: number;
  maxTtlSeconds?: number;
  /** The cell this topology serves: tablets of any other cell are refused. Unset: any cell. */
  cell?: string;
  /** Clock for the time written in Alive keys. */
  now?: () => Date;
  /**
   * What the process already knows of the cell (its watch hub's cache): a registration
   * reads its tablet, liveness and replication graph there first and commits with compares
   * on those versions, reading the store only after a refused commit.
   */
  cache?: ReadCache;
}

export interface RegisterOptions {
  /**
   * The registering host's identity (for example hostname, pid and a random suffix). Only
   * this session may re-register or unregister the tablet while its lease lives.
   */
  session: string;
  /** Lease TTL for a new lease; a resumed lease keeps the TTL it was granted with. */
  ttlSeconds?: number;
  /** Take the alias from another live session: its Alive key is overwritten and its lease revoked. */
  takeover?: boolean;
  /**
   * Resume this lease (after a cell-topo restart, leases outlive the process): it is kept
   * alive and reused if it still exists, else a new one is granted. It must be a lease this
   * registry returned for this same tablet: unregistering revokes it.
   */
  leaseId?: bigint;
  /** The caller's verified identity, recorded in the Alive key as the registration's holder. */
  identity?: string;
}

export interface TabletRegistration {
  /** Keep this lease alive (`keepAlive`) at least every `ttlSeconds`, better every third of it. */
  leaseId: bigint;
  ttlSeconds: number;
  /** The revision at which the registration is in the store. */
  revision: Version;
}

export interface UnregisterOptions {
  /** Also delete the Tablet record and its replication-graph node (Vitess DeleteTablet). */
  remove?: boolean;
}

function checkTtlBound(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw fieldError(field, `${String(value)} is not a whole number of seconds of at least 1`);
  return value;
}

export function validateSession(session: string, field = 'session'): string {
  if (typeof session !== 'string') throw fieldError(field, `must be a string, got ${typeof session}`);
  if (session === '') throw fieldError(field, "is empty — name the registering host, e.g. '<hostname>:<pid>:<random>'");
  for (const char of session) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) throw fieldError(field, `${quote(session)} has ${describeChar(char)}`);
  }
  if (session.length > MAX_SESSION_LENGTH) throw fieldError(field, `is ${session.length} characters — at most ${MAX_SESSION_LENGTH}`);
  return session;
}

export function validateLeaseId(leaseId: bigint, field = 'lease_id'): bigint {
  if (typeof leaseId !== 'bigint' || leaseId < 1n || leaseId > MAX_LEASE_ID) {
    throw fieldError(field, `${String(leaseId)} is not a lease id — a whole number from 1 to ${MAX_LEASE_ID}`);
  }
  return leaseId;
}

function registeredBy(alias: TabletAlias, marker: AliveMarker | undefined): TopoError {
  const holder = marker ? `session ${quote(marker.session)} (lease ${marker.leaseId})` : 'another session';
  const expiry = marker?.ttlSeconds ? ` (within ${marker.ttlSeconds} s of its last keepalive)` : '';
  return new TopoError(
    TopoErrorCode.NodeExists,
    `${tabletLabel(alias)} is registered by ${holder}, and stays so while that lease is kept alive — ` +
      `retry once it expires${expiry}, or register with takeover`,
  );
}

interface HeldLease {
  id: bigint;
  ttlSeconds: number;
  /** Granted by this call: revoked again if the registration fails. */
  granted: boolean;
}

export class TabletRegistry {
  private readonly defaultTtlSeconds: number;
  private readonly minTtlSeconds: number;
  private readonly maxTtlSeconds: number;
  private readonly cell: string | undefined;
  private readonly now: () => Date;
  private readonly cache: ReadCache | undefined;
  private readonly leases: LeasePool;
  private readonly batcher: ReplicationBatcher;

  constructor(
    private readonly store: Store,
    options: TabletRegistryOptions = {},
  ) {
    this.minTtlSeconds = checkTtlBound(options.minTtlSeconds ?? MIN_TABLET_TTL_SECONDS, 'min_ttl_seconds');
    this.maxTtlSeconds = checkTtlBound(options.maxTtlSeconds ?? MAX_TABLET_TTL_SECONDS, 'max_ttl_seconds');
    if (this.maxTtlSeconds < this.minTtlSeconds) {
      throw fieldError('max_ttl_seconds', `${this.maxTtlSeconds} is below min_ttl_seconds ${this.minTtlSeconds}`);
    }
    this.defaultTtlSeconds = this.checkTtl(options.defaultTtlSeconds ?? DEFAULT_TABLET_TTL_SECONDS, 'default_ttl_seconds');
    this.cell = options.cell === undefined ? undefined : validateCellName(options.cell);
    this.now = options.now ?? (() => new Date());
    this.cache = options.cache;
    this.leases = new LeasePool(store);
    this.batcher = new ReplicationBatcher(store, (path) => this.cache?.peek(path));
  }

  private checkTtl(ttlSeconds: number, field: string): number {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < this.minTtlSeconds || ttlSeconds > this.maxTtlSeconds) {
      throw fieldError(
        field,
        `${String(ttlSeconds)} is out of range — a whole number of seconds from ${this.minTtlSeconds} to ${this.maxTtlSeconds}`,
      );
    }
    return ttlSeconds;
  }

  /**
   * Registers the tablet for `options.session` and returns the lease to keep alive.
   *
   * - Another session's live registration: NodeExists naming it, unless `takeover`.
   * - The same session again: idempotent. Its lease (or `options.leaseId`) is kept alive
   *   and reused, nothing is written unless the tablet changed, the node is never doubled.
   * - A changed keyspace or shard moves the node between replication graphs.
   *
   * Every refusal leaves the store as it was and revokes any lease granted for the attempt.
   */
  async register(tablet: Tablet, options: RegisterOptions): Promise<TabletRegistration> {
    const next = validateTablet(tablet, 'tablet', { cell: this.cell });
    const alias = next.alias!;
    const session = validateSession(options?.session);
    const ttlSeconds = this.checkTtl(options.ttlSeconds ?? this.defaultTtlSeconds, 'ttl_seconds');
    if (options.leaseId !== undefined) validateLeaseId(options.leaseId);

    let lease: HeldLease | undefined;
    let registered = false;
    const graphPath = shardReplicationPath(next.keyspace, next.shard);
    try {
      for (let round = 1; round <= MAX_TABLET_COMMIT_ATTEMPTS; round++) {
        // The first round reads what the cell's watch cache knows (no round trip); a round
        // after a refused commit reads the store. A new registration takes a lease from the
        // pool meanwhile: in the common case the commit is the only etcd request.
        const cached = round === 1 ? cachedTabletState(this.cache, alias) : undefined;
        const cachedGraph = cached && this.cache!.peek(graphPath);
        const speculative = lease === undefined && options.leaseId === undefined ? this.leases.take(ttlSeconds) : undefined;
        const [state, joining, granted] = await Promise.all([
          cached ?? readTabletState(this.store, alias),
          cachedGraph ? cachedGraph.value : readReplication(this.store, next.keyspace, next.shard),
          speculative?.catch((err: unknown) => err as Error),
        ]);
        const holder = state.alive?.marker;
        const ours = state.alive !== undefined && holder?.session === session;
        const resume = options.leaseId ?? (ours ? holder!.leaseId : undefined);
        if (granted && !(granted instanceof Error)) {
          const fresh: HeldLease = { id: granted.id, ttlSeconds: granted.ttlSeconds, granted: true };
          // Not needed after all (the session resumes its own lease): give it back.
          if (resume !== undefined) await revokeQuietly(this.store, fresh.id);
          else lease = fresh;
        } else if (granted instanceof Error && resume === undefined) {
          throw granted;
        }
        if (state.alive && !ours && !options.takeover) throw registeredBy(alias, holder);

        lease ??= await this.holdLease(resume, ttlSeconds);
        const unchanged =
          ours && holder!.leaseId === lease.id && holder!.ttlSeconds === lease.ttlSeconds && holder!.identity === options.identity;
        const alive: AliveChange = unchanged
          ? { type: 'keep' }
          : {
              type: 'put',
              marker: {
                session,
                leaseId: lease.id,
                ttlSeconds: lease.ttlSeconds,
                time: this.now().toISOString(),
                ...(options.identity !== undefined ? { identity: options.identity } : {}),
              },
            };
        const request = await planTabletCommit(
          this.store,
          state,
          { type: 'put', tablet: next },
          alive,
          undefined,
          new Map([[graphPath, joining]]),
        );
        if (request.ops.length === 0) {
          registered = true;
          return { leaseId: lease.id, ttlSeconds: lease.ttlSeconds, revision: latest(request.expect.map((e) => e.version)) };
        }

        let revision: Version | undefined;
        try {
          revision = joinsGraphOnly(request, graphPath, state)
            ? // Joining a shard's graph: folded with the other registrations joining it now.
              await this.batcher.commit(
                graphPath,
                alias,
                request.expect.filter((e) => e.path !== graphPath),
                request.ops.filter((op) => op.path !== graphPath),
              )
            : await tryCommit(this.store, request);
        } catch (err) {
          // The only NoNode a commit gives: the lease ended after it was checked. Take another.
          if (!TopoError.is(err, TopoErrorCode.NoNode)) throw err;
          lease = undefined;
          continue;
        }
        if (revision === undefined) continue;
        registered = true;
        // The replaced lease bound only this registration: revoking it tells its holder at
        // once (its next keepalive answers NoNode) instead of letting it run out.
        if (holder && holder.leaseId !== lease.id) await revokeQuietly(this.store, holder.leaseId);
        return { leaseId: lease.id, ttlSeconds: lease.ttlSeconds, revision };
      }
      throw gaveUp(tabletLabel(alias));
    } finally {
      if (!registered && lease?.granted) await revokeQuietly(this.store, lease.id);
    }
  }

  /** The lease to resume when it still exists, else a new one. */
  private async holdLease(resume: bigint | undefined, ttlSeconds: number): Promise<HeldLease> {
    if (resume !== undefined) {
      try {
        return { id: resume, ttlSeconds: await this.store.keepAliveLease(resume), granted: false };
      } catch (err) {
        if (!TopoError.is(err, TopoErrorCode.NoNode)) throw err;
      }
    }
    const grant = await this.store.grantLease(ttlSeconds);
    return { id: grant.id, ttlSeconds: grant.ttlSeconds, granted: true };
  }

  /** Refreshes a registration's lease; resolves to its TTL. NoNode once it has expired or been revoked. */
  async keepAlive(leaseId: bigint): Promise<number> {
    validateLeaseId(leaseId);
    return this.store.keepAliveLease(leaseId).catch((err: unknown) => {
      if (!TopoError.is(err, TopoErrorCode.NoNode)) throw err;
      throw new TopoError(TopoErrorCode.NoNode, `lease ${leaseId} doesn't exist (expired or revoked) — register the tablet again`, {
        cause: err,
      });
    });
  }

  /**
   * Graceful close: deletes the tablet's Alive key, so routers see it gone at once rather
   * than after the TTL, then revokes its lease. The Tablet record and its node stay (a
   * restarted tablet registers the same record again) unless `remove` is set. NodeExists
   * when another live session holds the registration; NoNode when there is no such tablet.
   * A tablet that is already not alive is left as it is.
   */
  async unregister(alias: TabletAlias, session: string, options: UnregisterOptions = {}): Promise<void> {
    validateTabletAlias(alias);
    validateSession(session);
    for (let round = 1; round <= MAX_TABLET_COMMIT_ATTEMPTS; round++) {
      const state = await readTabletState(this.store, alias);
      if (!state.tablet && !state.alive) throw new TopoError(TopoErrorCode.NoNode, `${tabletLabel(alias)} doesn't exist`);
      const holder = state.alive?.marker;
      if (state.alive && holder?.session !== session) throw registeredBy(alias, holder);
      const request = await planTabletCommit(this.store, state, { type: options.remove ? 'delete' : 'keep' }, { type: 'delete' });
      if (request.ops.length === 0) return;
      if ((await tryCommit(this.store, request, true)) === undefined) continue;
      if (holder) await revokeQuietly(this.store, holder.leaseId);
      return;
    }
    throw gaveUp(tabletLabel(alias));
  }
}

/**
 * Whether the commit's only replication-graph change is adding this tablet's node to the
 * graph it joins (a new tablet, or one already in that shard): that part can be folded
 * with other registrations joining the same graph.
 */
function joinsGraphOnly(request: { ops: Array<{ path: string; type: string }> }, graphPath: string, state: TabletState): boolean {
  if (state.tablet && replicationPathOfTablet(state.tablet.value) !== graphPath) return false;
  return request.ops.some((op) => op.path === graphPath && op.type === 'put');
}

function replicationPathOfTablet(tablet: Tablet): string | undefined {
  try {
    return shardReplicationPath(tablet.keyspace, tablet.shard);
  } catch {
    return undefined;
  }
}

function latest(versions: Version[]): Version {
  return versions.reduce((max, version) => (version > max ? version : max), 0n);
}
