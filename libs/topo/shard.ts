/** Shards in the global topology (Vitess `topo/shard.go`). */
import { Shard, type KeyRange } from '../proto';
import type { Fence, Store, Version } from '../store';
import { isFullKeyRange, keyRangeEquals, keyRangeString, keyRangesOverlap } from './key-range';
import { Locks } from './locks';
import { SHARD_FILE, keyspaceLockDir, lockQueueDir, shardPath, shardsDir } from './paths';
import { requireKeyspace } from './private/existence';
import { fieldError, quote } from './private/field-error';
import { decodeListed } from './private/undecodable';
import { ProtoRecord } from './private/proto-record';
import { parseShardName, validateKeyspaceName, validateShardName, validateTabletAlias, validateTabletType } from './validation';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from './write-options';

export interface ShardRecord {
  /** The canonical (lowercase) shard name. */
  name: string;
  shard: Shard;
  version: Version;
}

export interface CreateShardOptions {
  /**
   * The fence of a keyspace lock the caller already holds. Without it, create takes the
   * keyspace lock itself for the duration, as Vitess's CreateShard does.
   */
  fence?: Fence;
  /** How long to wait for the keyspace lock when create takes it. */
  lockTimeoutMs?: number;
  /** The caller's cancellation: ends the wait for the lock, and no commit follows it. */
  signal?: AbortSignal;
}

export function validateShard(shard: Shard, previous: Shard | undefined): void {
  if (previous !== undefined && !keyRangeEquals(shard.keyRange, previous.keyRange)) {
    throw fieldError(
      'shard.key_range',
      `cannot change after creation (was ${keyRangeString(previous.keyRange)}, now ${keyRangeString(shard.keyRange)})`,
    );
  }
  if (shard.primaryAlias !== undefined) validateTabletAlias(shard.primaryAlias, 'shard.primary_alias');
  const controlled = new Set<number>();
  shard.tabletControls.forEach((control, index) => {
    const field = `shard.tablet_controls[${index}].tablet_type`;
    validateTabletType(control.tabletType, field);
    if (controlled.has(control.tabletType)) throw fieldError(field, `${control.tabletType} has a second entry — at most one per tablet type`);
    controlled.add(control.tabletType);
  });
  shard.sourceShards.forEach((source, index) => {
    validateKeyspaceName(source.keyspace, `shard.source_shards[${index}].keyspace`);
    validateShardName(source.shard, `shard.source_shards[${index}].shard`);
  });
}

/** Validates the keyspace, then the shard, and returns the canonical shard name. */
function shardName(keyspace: string, shard: string): string {
  validateKeyspaceName(keyspace);
  return validateShardName(shard);
}

const label = (keyspace: string, shard: string): string => `shard ${quote(`${keyspace}/${shard}`)}`;

export class Shards {
  private readonly records: ProtoRecord<Shard>;

  constructor(
    private readonly store: Store,
    private readonly locks: Locks = new Locks(store),
  ) {
    this.records = new ProtoRecord(store, Shard, validateShard);
  }

  /**
   * Creates a shard whose key range comes from its name. Its primary serves only if its
   * range overlaps no existing shard of the keyspace (Vitess CreateShard), which is decided
   * under the keyspace lock so two creates cannot both believe they are alone. NoNode when
   * the keyspace does not exist, NodeExists when the shard does.
   */
  async create(keyspace: string, shard: string, options: CreateShardOptions = {}): Promise<ShardRecord> {
    validateKeyspaceName(keyspace);
    const { name, keyRange, custom } = parseShardName(shard);
    await requireKeyspace(this.store, keyspace);
    if (options.fence) {
      const queue = `${lockQueueDir(keyspaceLockDir(keyspace))}/`;
      if (!options.fence.lockPath.startsWith(queue)) {
        throw fieldError('fence', `${quote(options.fence.lockPath)} is not a lock of keyspace ${quote(keyspace)}`);
      }
      return this.createUnderLock(keyspace, name, keyRange, custom, options.fence);
    }
    const lock = await this.locks.lockKeyspace(keyspace, `CreateShard(${name})`, {
      timeoutMs: options.lockTimeoutMs,
      signal: options.signal,
    });
    try {
      return await this.createUnderLock(keyspace, name, keyRange, custom, lock.fence);
    } finally {
      // The create was fenced: if it succeeded the lock was held when it committed, so a
      // failed unlock (the lease already gone) changes nothing the caller must know.
      await lock.unlock().catch(() => undefined);
    }
  }

  private async createUnderLock(keyspace: string, name: string, keyRange: KeyRange, custom: boolean, fence: Fence): Promise<ShardRecord> {
    // Vitess's CreateShard: a custom-named shard always serves (custom sharding has no
    // ranges to overlap); a range-named one only when it overlaps no existing shard.
    const existing = custom ? [] : await this.findAll(keyspace);
    const shard: Shard = {
      ...Shard.create(),
      keyRange: isFullKeyRange(keyRange) ? undefined : keyRange,
      isPrimaryServing: !existing.some((other) => keyRangesOverlap(other.shard.keyRange, keyRange)),
    };
    const version = await this.records.create(shardPath(keyspace, name), label(keyspace, name), shard, { fence });
    return { name, shard, version };
  }

  async get(keyspace: string, shard: string): Promise<ShardRecord> {
    const name = shardName(keyspace, shard);
    const { value, version } = await this.records.get(shardPath(keyspace, name), label(keyspace, name));
    return { name, shard: value, version };
  }

  /** Shard names of a keyspace in name order (which for key-range names is key order). NoNode when the keyspace doesn't exist. */
  async list(keyspace: string, skipped?: string[]): Promise<string[]> {
    return (await this.findAll(keyspace, skipped)).map((record) => record.name);
  }

  /**
   * Every shard of a keyspace with its record, in name order (Vitess FindAllShardsInKeyspace).
   * Records that do not decode are left out, their paths pushed to `skipped`.
   */
  async findAll(keyspace: string, skipped?: string[]): Promise<ShardRecord[]> {
    const prefix = `${shardsDir(keyspace)}/`;
    const kvs = await this.store.list(prefix);
    const records: ShardRecord[] = [];
    for (const kv of kvs) {
      const rest = kv.path.slice(prefix.length).split('/');
      if (rest.length !== 2 || rest[1] !== SHARD_FILE) continue;
      const shard = decodeListed(Shard, kv, skipped);
      if (shard) records.push({ name: rest[0], shard, version: kv.version });
    }
    if (records.length === 0 && (skipped?.length ?? 0) === 0) {
      // No shards is an answer only for a keyspace that exists.
      await requireKeyspace(this.store, keyspace);
    }
    return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Compare-and-swap on `version`. The key range cannot change. */
  async update(keyspace: string, shard: string, value: Shard, version: Version, options: FenceOption = {}): Promise<Version> {
    const name = shardName(keyspace, shard);
    return this.records.update(shardPath(keyspace, name), label(keyspace, name), value, version, options);
  }

  /**
   * Read-modify-write (Vitess UpdateShardFields), e.g. to set the primary alias and its term
   * start time under a shard lock's fence. Retried on BadVersion unless `options.version`
   * pins the version; a lost fence fails with LockLost and is never retried.
   */
  async updateFields(keyspace: string, shard: string, change: FieldUpdate<Shard>, options: VersionedWriteOptions = {}): Promise<ShardRecord> {
    const name = shardName(keyspace, shard);
    const { value, version } = await this.records.updateFields(shardPath(keyspace, name), label(keyspace, name), change, options);
    return { name, shard: value, version };
  }

  /** Deletes the Shard record; its lock keys, if any, stay with their holders. */
  async delete(keyspace: string, shard: string, options: VersionedWriteOptions = {}): Promise<void> {
    const name = shardName(keyspace, shard);
    await this.records.delete(shardPath(keyspace, name), label(keyspace, name), options);
  }
}
