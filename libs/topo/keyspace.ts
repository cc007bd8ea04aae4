/** Keyspaces in the global topology (Vitess `topo/keyspace.go`). */
import { Keyspace } from '../proto';
import { TopoError, TopoErrorCode, type Store, type Version } from '../store';
import {
  KEYSPACE_FILE,
  KEYSPACES_DIR,
  LOCK_QUEUE_DIR,
  SHARD_FILE,
  SHARDS_DIR,
  VSCHEMA_FILE,
  keyspaceDir,
  keyspacePath,
} from './paths';
import { emptyOnNoNode } from './private/existence';
import { quote } from './private/field-error';
import { ProtoRecord } from './private/proto-record';
import { validateKeyspaceName, validateKeyspaceType } from './validation';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from './write-options';

export interface KeyspaceRecord {
  keyspace: Keyspace;
  version: Version;
}

export interface DeleteKeyspaceOptions extends FenceOption {
  /** Also delete its shards, its vschema and every other file under `keyspaces/<ks>/`. */
  recursive?: boolean;
}

export function validateKeyspace(keyspace: Keyspace): void {
  validateKeyspaceType(keyspace.keyspaceType, 'keyspace.keyspace_type');
  if (keyspace.baseKeyspace !== '') validateKeyspaceName(keyspace.baseKeyspace, 'keyspace.base_keyspace');
}

const label = (name: string): string => `keyspace ${quote(name)}`;

/** vtctld's CreateKeyspace defaults (its `--durability-policy` flag and Vitess's sidecar database). */
export const DEFAULT_DURABILITY_POLICY = 'none';
export const DEFAULT_SIDECAR_DB_NAME = '_vt';

export class Keyspaces {
  private readonly records: ProtoRecord<Keyspace>;

  constructor(private readonly store: Store) {
    this.records = new ProtoRecord(store, Keyspace, validateKeyspace);
  }

  /**
   * Throws NodeExists when the keyspace exists. An empty `durability_policy` and
   * `sidecar_db_name` get vtctld's defaults (`none`, `_vt`), so a keyspace created here
   * looks to Vitess like one vtctld created.
   */
  create(name: string, keyspace: Keyspace = Keyspace.create(), options: FenceOption = {}): Promise<Version> {
    const withDefaults: Keyspace = {
      ...keyspace,
      durabilityPolicy: keyspace.durabilityPolicy === '' ? DEFAULT_DURABILITY_POLICY : keyspace.durabilityPolicy,
      sidecarDbName: keyspace.sidecarDbName === '' ? DEFAULT_SIDECAR_DB_NAME : keyspace.sidecarDbName,
    };
    return this.records.create(keyspacePath(name), label(name), withDefaults, options);
  }

  async get(name: string): Promise<KeyspaceRecord> {
    const { value, version } = await this.records.get(keyspacePath(name), label(name));
    return { keyspace: value, version };
  }

  /**
   * Names of the keyspaces, sorted. A directory left under `keyspaces/` without a
   * Keyspace file (a lock held across a delete) is not a keyspace and is not listed.
   */
  async list(): Promise<string[]> {
    const entries = await this.store.listDir(KEYSPACES_DIR).catch(emptyOnNoNode);
    const names = entries.filter((entry) => entry.type === 'directory' && isValid(entry.name)).map((entry) => entry.name);
    const present = await Promise.all(
      names.map(async (name) => {
        const files = await this.store.listDir(`${KEYSPACES_DIR}/${name}`).catch(emptyOnNoNode);
        return files.some((file) => file.name === KEYSPACE_FILE && file.type === 'file');
      }),
    );
    return names.filter((_, index) => present[index]);
  }

  /** Compare-and-swap on `version`: BadVersion when the keyspace changed, NoNode when gone. */
  update(name: string, keyspace: Keyspace, version: Version, options: FenceOption = {}): Promise<Version> {
    return this.records.update(keyspacePath(name), label(name), keyspace, version, options);
  }

  /** Read-modify-write, retried on BadVersion unless `options.version` pins the version. */
  async updateFields(name: string, change: FieldUpdate<Keyspace>, options: VersionedWriteOptions = {}): Promise<KeyspaceRecord> {
    const { value, version } = await this.records.updateFields(keyspacePath(name), label(name), change, options);
    return { keyspace: value, version };
  }

  /**
   * Deletes the keyspace. Without `recursive`, refused with NodeNotEmpty while it has shards
   * (or any file other than its Keyspace and VSchema); its VSchema goes with it, as in
   * Vitess. With `recursive`, every file under `keyspaces/<ks>/` goes. Lock keys are left
   * alone: they belong to their holders and vanish with their leases. The Keyspace file is
   * deleted last, so an interrupted delete leaves a keyspace that can be deleted again.
   */
  async delete(name: string, options: DeleteKeyspaceOptions = {}): Promise<void> {
    const path = keyspacePath(name);
    await this.records.get(path, label(name));
    const dir = keyspaceDir(name);
    const files = (await this.store.list(`${dir}/`))
      .map((kv) => kv.path)
      .filter((file) => file !== path && !isLockKey(file.slice(dir.length + 1)));
    const vschema = `${dir}/${VSCHEMA_FILE}`;
    if (!options.recursive) {
      const blocking = files.filter((file) => file !== vschema);
      if (blocking.length > 0) throw notEmpty(name, dir, blocking);
    }
    for (const file of files) {
      await this.store.delete(file, null, { fence: options.fence }).catch((err: unknown) => {
        // Someone else deleting the same file concurrently is the outcome we want.
        if (!TopoError.is(err, TopoErrorCode.NoNode)) throw err;
      });
    }
    await this.records.delete(path, label(name), { fence: options.fence });
  }
}

function isValid(name: string): boolean {
  try {
    validateKeyspaceName(name);
    return true;
  } catch {
    return false;
  }
}

/** `locks/<key>` or `shards/<shard>/locks/<key>`, relative to the keyspace directory. */
function isLockKey(relative: string): boolean {
  const segments = relative.split('/');
  return (
    (segments.length === 2 && segments[0] === LOCK_QUEUE_DIR) ||
    (segments.length === 4 && segments[0] === SHARDS_DIR && segments[2] === LOCK_QUEUE_DIR)
  );
}

function notEmpty(name: string, dir: string, files: string[]): TopoError {
  const shardPrefix = `${dir}/${SHARDS_DIR}/`;
  const shards = files
    .filter((file) => file.startsWith(shardPrefix) && file.endsWith(`/${SHARD_FILE}`))
    .map((file) => file.slice(shardPrefix.length, -SHARD_FILE.length - 1));
  const what = shards.length > 0 ? `shards ${shards.join(', ')}` : `files ${files.join(', ')}`;
  return new TopoError(
    TopoErrorCode.NodeNotEmpty,
    `${label(name)} still has ${what} — delete them first, or delete the keyspace recursively`,
  );
}
