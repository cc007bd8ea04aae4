/**
 * Tablets in a cell's topology (Vitess `topo/tablet.go`). A tablet's record
 * `tablets/<alias>/Tablet` is persistent, as in Vitess; whether it is alive is a separate
 * lease-bound key `liveness/<alias>` written by `TabletRegistry` (outside `tablets/`, which
 * holds nothing but Tablet records, as Vitess expects). Every write of a
 * record moves its node in the shard's `ShardReplication` in the same transaction.
 */
import { Tablet, type TabletAlias, type TabletType } from '../proto';
import { TopoError, TopoErrorCode, type Store, type Version } from '../store';
import { keyRangeEquals, keyRangeString } from './key-range';
import { LIVENESS_DIR, TABLET_FILE, TABLETS_DIR } from './paths';
import { describeChar, fieldError, quote } from './private/field-error';
import { decodeListed } from './private/undecodable';
import {
  MAX_TABLET_COMMIT_ATTEMPTS,
  gaveUp,
  parseAliveMarker,
  planTabletCommit,
  readTabletState,
  tryCommit,
  type AliveMarker,
  type TabletState,
} from './private/tablet-commit';
import { compareTabletAliases, tabletAliasEquals } from './shard-replication';
import {
  parseShardName,
  parseTabletAlias,
  tabletAliasString,
  validateCellName,
  validateKeyspaceName,
  validateShardName,
  validateTabletAlias,
  validateTabletType,
  validateValueSize,
} from './validation';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from './write-options';

export const MAX_HOSTNAME_LENGTH = 255;
export const MAX_PORT = 65535;
/** Port names (`vt`, `grpc`, `mysql`) and tag keys. */
export const MAX_PORT_NAME_LENGTH = 64;
/** MySQL's limit on a database name. */
export const MAX_DB_NAME_LENGTH = 64;

/** Who keeps a tablet alive: the contents of its Alive key. */
export interface TabletLiveness {
  session: string;
  leaseId: bigint;
  ttlSeconds: number;
  /** When the session bound the tablet to this lease, ISO 8601 UTC. */
  time: string;
  /** The Alive key's version. */
  version: Version;
}

export interface TabletRecord {
  tablet: Tablet;
  version: Version;
  /** The tablet's Alive key exists: its registering host keeps its lease alive. */
  alive: boolean;
  /** Set when alive and the Alive key is in this topology's format. */
  liveness?: TabletLiveness;
}

export interface TabletFilter {
  keyspace?: string;
  shard?: string;
  /** Any of these types; unset or empty means every type. */
  types?: TabletType[];
}

export interface TabletsOptions {
  /** The cell this topology serves: tablets of any other cell are refused. Unset: any cell. */
  cell?: string;
}

const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkText(value: unknown, field: string, options: { required: boolean; maxLength: number; spaces: boolean }): string {
  if (typeof value !== 'string') throw fieldError(field, `must be a string, got ${typeof value}`);
  if (value === '') {
    if (options.required) throw fieldError(field, 'is empty');
    return value;
  }
  const bad = (options.spaces ? CONTROL : CONTROL_OR_SPACE).exec(value);
  if (bad) throw fieldError(field, `${quote(value)} has ${bad[0] === ' ' ? 'a space' : describeChar(bad[0])}`);
  if (value.length > options.maxLength) throw fieldError(field, `is ${value.length} characters — at most ${options.maxLength}`);
  return value;
}

function checkPort(port: unknown, field: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > MAX_PORT) {
    throw fieldError(field, `${String(port)} is not a port — a whole number from 0 to ${MAX_PORT}`);
  }
  return port;
}

function sortedEntries<T>(map: { [key: string]: T } | undefined): Array<[string, T]> {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The alias's cell must be the topology's own cell when one is configured. */
function checkTabletCell(alias: TabletAlias, cell: string | undefined, field: string): void {
  if (cell !== undefined && alias.cell !== cell) {
    throw fieldError(`${field}.cell`, `${quote(alias.cell)} is not this topology's cell ${quote(cell)}`);
  }
}

/**
 * Checks a tablet and returns its canonical copy: the shard name in lowercase and the port
 * and tag maps in key order, so equal tablets encode to equal bytes. Each refusal is
 * InvalidArgument naming the field (`tablet.port_map["grpc"]: 70000 is not a port ...`).
 */
export function validateTablet(tablet: Tablet, field = 'tablet', options: TabletsOptions = {}): Tablet {
  if (typeof tablet !== 'object' || tablet === null) throw fieldError(field, 'is missing');
  const alias = validateTabletAlias(tablet.alias, `${field}.alias`);
  checkTabletCell(alias, options.cell, `${field}.alias`);
  checkText(tablet.hostname, `${field}.hostname`, { required: true, maxLength: MAX_HOSTNAME_LENGTH, spaces: false });
  const portMap = sortedEntries(tablet.portMap);
  for (const [name, port] of portMap) {
    checkText(name, `${field}.port_map`, { required: true, maxLength: MAX_PORT_NAME_LENGTH, spaces: false });
    checkPort(port, `${field}.port_map[${quote(name)}]`);
  }
  validateKeyspaceName(tablet.keyspace, `${field}.keyspace`);
  const shard = parseShardName(tablet.shard, `${field}.shard`);
  if (tablet.keyRange !== undefined && !keyRangeEquals(tablet.keyRange, shard.keyRange)) {
    throw fieldError(
      `${field}.key_range`,
      `${keyRangeString(tablet.keyRange)} is not the range of shard ${quote(shard.name)} — ` +
        `leave it unset or give ${keyRangeString(shard.keyRange)}`,
    );
  }
  validateTabletType(tablet.type, `${field}.type`);
  checkText(tablet.dbNameOverride, `${field}.db_name_override`, { required: false, maxLength: MAX_DB_NAME_LENGTH, spaces: false });
  checkText(tablet.mysqlHostname, `${field}.mysql_hostname`, { required: false, maxLength: MAX_HOSTNAME_LENGTH, spaces: false });
  checkPort(tablet.mysqlPort, `${field}.mysql_port`);
  const tags = sortedEntries(tablet.tags);
  for (const [key, value] of tags) {
    checkText(key, `${field}.tags`, { required: true, maxLength: MAX_PORT_NAME_LENGTH, spaces: false });
    checkText(value, `${field}.tags[${quote(key)}]`, { required: false, maxLength: MAX_HOSTNAME_LENGTH, spaces: true });
  }
  const canonical: Tablet = {
    ...Tablet.fromPartial(tablet),
    shard: shard.name,
    portMap: Object.fromEntries(portMap),
    tags: Object.fromEntries(tags),
  };
  validateValueSize(Tablet.encode(canonical).finish(), field);
  return canonical;
}

export const tabletLabel = (alias: TabletAlias): string => `tablet ${quote(tabletAliasString(alias))}`;

function livenessOf(alive: TabletState['alive']): TabletLiveness | undefined {
  const marker: AliveMarker | undefined = alive?.marker;
  return alive && marker ? { ...marker, version: alive.version } : undefined;
}

function tabletRecordOf(state: TabletState): TabletRecord {
  if (!state.tablet) throw new TopoError(TopoErrorCode.NoNode, `${tabletLabel(state.alias)} doesn't exist`);
  return {
    tablet: state.tablet.value,
    version: state.tablet.version,
    alive: state.alive !== undefined,
    liveness: livenessOf(state.alive),
  };
}

/** Tablet records read per store page when listing page by page. */
const LIST_READ_BATCH = 250;

export class Tablets {
  private readonly cell: string | undefined;

  constructor(
    private readonly store: Store,
    options: TabletsOptions = {},
  ) {
    this.cell = options.cell === undefined ? undefined : validateCellName(options.cell);
  }

  /**
   * Creates the tablet's record and adds it to its shard's replication graph, in one
   * transaction (Vitess CreateTablet). The tablet is not alive until it registers.
   * NodeExists when the record exists.
   */
  async create(tablet: Tablet, options: FenceOption = {}): Promise<TabletRecord> {
    const next = validateTablet(tablet, 'tablet', { cell: this.cell });
    const alias = next.alias!;
    for (let round = 1; round <= MAX_TABLET_COMMIT_ATTEMPTS; round++) {
      const state = await readTabletState(this.store, alias);
      if (state.tablet) throw new TopoError(TopoErrorCode.NodeExists, `${tabletLabel(alias)} already exists`);
      const request = await planTabletCommit(this.store, state, { type: 'put', tablet: next }, { type: 'keep' }, options.fence);
      const version = await tryCommit(this.store, request);
      if (version !== undefined) return { tablet: next, version, alive: state.alive !== undefined, liveness: livenessOf(state.alive) };
    }
    throw gaveUp(tabletLabel(alias));
  }

  /** The record, its version, and whether the tablet is alive. NoNode when there is no record. */
  async get(alias: TabletAlias): Promise<TabletRecord> {
    validateTabletAlias(alias);
    return tabletRecordOf(await readTabletState(this.store, alias));
  }

  /**
   * The cell's tablets, alive or not, sorted by alias (cell, then uid). Records that do not
   * decode as a Tablet are left out, their paths pushed to `skipped`.
   */
  async list(filter: TabletFilter = {}, skipped?: string[]): Promise<TabletRecord[]> {
    const keyspace = filter.keyspace === undefined ? undefined : validateKeyspaceName(filter.keyspace, 'filter.keyspace');
    const shard = filter.shard === undefined ? undefined : validateShardName(filter.shard, 'filter.shard');
    const types = new Set((filter.types ?? []).map((type, index) => validateTabletType(type, `filter.types[${index}]`)));

    const byAlias = new Map<string, TabletState>();
    const stateOf = (alias: string): TabletState => {
      let state = byAlias.get(alias);
      if (!state) byAlias.set(alias, (state = { alias: { cell: '', uid: 0 } }));
      return state;
    };
    // Two reads, liveness first: a tablet that registers in between is listed as not alive,
    // as it was when the listing began. Watches, not lists, follow liveness exactly.
    const livenessPrefix = `${LIVENESS_DIR}/`;
    for (const kv of await this.store.list(livenessPrefix)) {
      const alias = kv.path.slice(livenessPrefix.length);
      if (alias.includes('/')) continue;
      stateOf(alias).alive = { marker: parseAliveMarker(kv.contents), version: kv.version };
    }
    const prefix = `${TABLETS_DIR}/`;
    for (const kv of await this.store.list(prefix)) {
      const [alias, file, ...rest] = kv.path.slice(prefix.length).split('/');
      if (rest.length > 0 || file !== TABLET_FILE) continue;
      const value = decodeListed(Tablet, kv, skipped);
      if (value) stateOf(alias).tablet = { value, contents: kv.contents, version: kv.version };
    }
    const records: TabletRecord[] = [];
    for (const state of byAlias.values()) {
      const tablet = state.tablet?.value;
      if (!tablet?.alias) continue;
      if (keyspace !== undefined && tablet.keyspace !== keyspace) continue;
      if (shard !== undefined && tablet.shard !== shard) continue;
      if (types.size > 0 && !types.has(tablet.type)) continue;
      records.push(tabletRecordOf({ ...state, alias: tablet.alias }));
    }
    return records.sort((a, b) => compareTabletAliases(a.tablet.alias!, b.tablet.alias!));
  }

  /**
   * One page of `list(filter)` in key order (alias order within a cell), every page of a
   * listing read at `page.revision` (the first page's): at most `limit` records and,
   * beyond the first, about `maxBytes` of encoded records. `after` continues after the
   * alias `last` of the previous page. Liveness is read for the same aliases at the same
   * revision, so a page is one consistent state. Records that do not decode are left out,
   * their paths pushed to `skipped`.
   */
  async listPage(
    filter: TabletFilter,
    page: { limit: number; maxBytes: number; after?: string; revision?: bigint },
    skipped?: string[],
  ): Promise<{ records: TabletRecord[]; revision: bigint; last: string | undefined; more: boolean }> {
    const keyspace = filter.keyspace === undefined ? undefined : validateKeyspaceName(filter.keyspace, 'filter.keyspace');
    const shard = filter.shard === undefined ? undefined : validateShardName(filter.shard, 'filter.shard');
    const types = new Set((filter.types ?? []).map((type, index) => validateTabletType(type, `filter.types[${index}]`)));
    if (page.after !== undefined) parseTabletAlias(page.after, 'page_token');
    const prefix = `${TABLETS_DIR}/`;
    const records: TabletRecord[] = [];
    let after = page.after === undefined ? undefined : `${prefix}${page.after}/${TABLET_FILE}`;
    let revision = page.revision;
    let last = page.after;
    let bytes = 0;
    for (;;) {
      // Small reads: a page that fills its byte budget early wastes at most one of them.
      const read = await this.store.listPage(prefix, { limit: Math.min(page.limit - records.length, LIST_READ_BATCH), after, revision });
      revision = read.revision;
      const tablets: Array<{ alias: string; tablet: Tablet; contents: Uint8Array; version: Version }> = [];
      for (const kv of read.items) {
        const [alias, file, ...rest] = kv.path.slice(prefix.length).split('/');
        if (rest.length > 0 || file !== TABLET_FILE) continue;
        const tablet = decodeListed(Tablet, kv, skipped);
        if (tablet) tablets.push({ alias, tablet, contents: kv.contents, version: kv.version });
      }
      const alive = new Map<string, TabletState['alive']>();
      if (tablets.length > 0) {
        const livenessPrefix = `${LIVENESS_DIR}/`;
        const liveness = await this.store.listPage(livenessPrefix, {
          after: last === undefined ? undefined : `${livenessPrefix}${last}`,
          through: `${livenessPrefix}${tablets[tablets.length - 1].alias}`,
          revision,
        });
        for (const kv of liveness.items) {
          alive.set(kv.path.slice(livenessPrefix.length), { marker: parseAliveMarker(kv.contents), version: kv.version });
        }
      }
      for (const [index, entry] of tablets.entries()) {
        last = entry.alias;
        const tablet = entry.tablet;
        const matches =
          tablet.alias !== undefined &&
          (keyspace === undefined || tablet.keyspace === keyspace) &&
          (shard === undefined || tablet.shard === shard) &&
          (types.size === 0 || types.has(tablet.type));
        if (!matches) continue;
        records.push(
          tabletRecordOf({ alias: tablet.alias!, tablet: { value: tablet, contents: entry.contents, version: entry.version }, alive: alive.get(entry.alias) }),
        );
        bytes += entry.contents.byteLength;
        if (records.length >= page.limit || bytes >= page.maxBytes) {
          const more = index < tablets.length - 1 || read.more;
          return { records, revision, last, more };
        }
      }
      if (read.items.length > 0) after = read.items[read.items.length - 1].path;
      if (!read.more) return { records, revision, last, more: false };
    }
  }

  /**
   * Read-modify-write of the record (Vitess UpdateTabletFields). A change of keyspace or
   * shard moves the tablet's node between the two replication graphs in the same
   * transaction. Retried while another writer moves the record or a graph it touches;
   * with `options.version`, BadVersion once the record is at another version. `change`
   * returning false writes nothing. The alias cannot change.
   */
  async updateFields(alias: TabletAlias, change: FieldUpdate<Tablet>, options: VersionedWriteOptions = {}): Promise<TabletRecord> {
    validateTabletAlias(alias);
    const label = tabletLabel(alias);
    for (let round = 1; round <= MAX_TABLET_COMMIT_ATTEMPTS; round++) {
      const state = await readTabletState(this.store, alias);
      const current = tabletRecordOf(state);
      if (options.version !== undefined && current.version !== options.version) {
        throw new TopoError(TopoErrorCode.BadVersion, `${label} is at version ${current.version}, not ${options.version}`);
      }
      const value = Tablet.decode(state.tablet!.contents);
      if (change(value) === false) return current;
      if (!tabletAliasEquals(value.alias, alias)) {
        throw fieldError('tablet.alias', `cannot change (was ${tabletAliasString(alias)}) — create a new tablet instead`);
      }
      const next = validateTablet(value, 'tablet', { cell: this.cell });
      const request = await planTabletCommit(this.store, state, { type: 'put', tablet: next }, { type: 'keep' }, options.fence);
      if (request.ops.length === 0) return current;
      const version = await tryCommit(this.store, request);
      if (version !== undefined) return { ...current, tablet: next, version };
    }
    throw gaveUp(label);
  }

  /**
   * Deletes the record, its Alive key and its replication-graph node in one transaction;
   * the graph goes when its last node does (Vitess DeleteTablet). A registered tablet's
   * lease is then revoked, so its host's next keepalive answers NoNode. NoNode when there
   * is no record; with `options.version`, BadVersion once the record is at another version.
   */
  async delete(alias: TabletAlias, options: VersionedWriteOptions = {}): Promise<void> {
    validateTabletAlias(alias);
    const label = tabletLabel(alias);
    for (let round = 1; round <= MAX_TABLET_COMMIT_ATTEMPTS; round++) {
      const state = await readTabletState(this.store, alias);
      const current = tabletRecordOf(state);
      if (options.version !== undefined && current.version !== options.version) {
        throw new TopoError(TopoErrorCode.BadVersion, `${label} is at version ${current.version}, not ${options.version}`);
      }
      const request = await planTabletCommit(this.store, state, { type: 'delete' }, { type: 'delete' }, options.fence);
      if ((await tryCommit(this.store, request, true)) === undefined) continue;
      if (current.liveness) await revokeQuietly(this.store, current.liveness.leaseId);
      return;
    }
    throw gaveUp(label);
  }
}

/**
 * Revokes a lease whose keys are already gone. Failure changes nothing a caller must act on:
 * an unreachable backend lets the lease run out on its own.
 */
export async function revokeQuietly(store: Store, leaseId: bigint): Promise<void> {
  await store.revokeLease(leaseId).catch(() => undefined);
}
