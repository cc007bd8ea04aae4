/**
 * The serving graph of a cell (Vitess `topo/srv_keyspace.go`, `topo/srv_vschema.go`): what
 * routers of the cell read to route queries. `keyspaces/<ks>/SrvKeyspace` holds a
 * `SrvKeyspace` proto (the partitions per served tablet type); `SrvVSchema` holds a binary
 * `vschema.SrvVSchema` protobuf, what vtgate decodes (`computeSrvVSchema` in `rebuild.ts`
 * builds it). It is checked to decode, then kept byte for byte.
 */
import { SrvKeyspace, vschema as vschemapb } from '../proto';
import type { Store, Version } from '../store';
import { KEYSPACES_DIR, SRV_KEYSPACE_FILE, SRV_VSCHEMA_PATH, srvKeyspacePath } from './paths';
import { emptyOnNoNode } from './private/existence';
import { fieldError, quote } from './private/field-error';
import { ProtoRecord, renamed } from './private/proto-record';
import { validateKeyspaceName, validateProtoBytes, validateShardName, validateTabletType, validateValueSize } from './validation';
import type { VersionedWriteOptions } from './write-options';

export interface SrvKeyspaceRecord {
  srvKeyspace: SrvKeyspace;
  version: Version;
}

export interface SrvVSchemaRecord {
  srvVSchema: Uint8Array;
  version: Version;
}

/** One partition per served type; shard references and controls name valid shards. */
export function validateSrvKeyspace(srvKeyspace: SrvKeyspace, field = 'srv_keyspace'): SrvKeyspace {
  const served = new Set<number>();
  srvKeyspace.partitions.forEach((partition, index) => {
    const at = `${field}.partitions[${index}]`;
    validateTabletType(partition.servedType, `${at}.served_type`);
    if (served.has(partition.servedType)) {
      throw fieldError(`${at}.served_type`, `${partition.servedType} has a second partition — at most one per tablet type`);
    }
    served.add(partition.servedType);
    partition.shardReferences.forEach((reference, i) => validateShardName(reference.name, `${at}.shard_references[${i}].name`));
    partition.shardTabletControls.forEach((control, i) => validateShardName(control.name, `${at}.shard_tablet_controls[${i}].name`));
  });
  validateValueSize(SrvKeyspace.encode(srvKeyspace).finish(), field);
  return srvKeyspace;
}

const label = (keyspace: string): string => `serving keyspace ${quote(keyspace)}`;

export class SrvKeyspaces {
  private readonly records: ProtoRecord<SrvKeyspace>;

  constructor(private readonly store: Store) {
    this.records = new ProtoRecord(store, SrvKeyspace, (value) => void validateSrvKeyspace(value));
  }

  /** NoNode when the keyspace has no serving graph in this cell. */
  async get(keyspace: string): Promise<SrvKeyspaceRecord> {
    const { value, version } = await this.records.get(srvKeyspacePath(keyspace), label(keyspace));
    return { srvKeyspace: value, version };
  }

  /**
   * Saves the keyspace's serving graph: an upsert, as Vitess's UpdateSrvKeyspace is a blind
   * write, or compare-and-swap with `options.version`. The global keyspace need not be
   * visible here: a cell's store cannot see the global one.
   */
  async save(keyspace: string, srvKeyspace: SrvKeyspace, options: VersionedWriteOptions = {}): Promise<Version> {
    const path = srvKeyspacePath(keyspace);
    const contents = SrvKeyspace.encode(validateSrvKeyspace(srvKeyspace)).finish();
    return this.store.update(path, contents, options.version ?? null, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, label(keyspace));
    });
  }

  async delete(keyspace: string, options: VersionedWriteOptions = {}): Promise<void> {
    await this.records.delete(srvKeyspacePath(keyspace), label(keyspace), options);
  }

  /** Names of the keyspaces with a serving graph in this cell, sorted (Vitess GetSrvKeyspaceNames). */
  async list(): Promise<string[]> {
    const entries = await this.store.listDir(KEYSPACES_DIR).catch(emptyOnNoNode);
    const names = entries.filter((entry) => entry.type === 'directory').map((entry) => entry.name);
    const present = await Promise.all(
      names.map(async (name) => {
        const files = await this.store.listDir(`${KEYSPACES_DIR}/${name}`).catch(emptyOnNoNode);
        return files.some((file) => file.name === SRV_KEYSPACE_FILE && file.type === 'file');
      }),
    );
    return names.filter((name, index) => present[index] && isKeyspaceName(name));
  }
}

function isKeyspaceName(name: string): boolean {
  try {
    validateKeyspaceName(name);
    return true;
  } catch {
    return false;
  }
}

const SRV_VSCHEMA_LABEL = 'SrvVSchema';

export class SrvVSchemas {
  constructor(private readonly store: Store) {}

  /** NoNode when the cell has no serving vschema. */
  async get(): Promise<SrvVSchemaRecord> {
    const { contents, version } = await this.store.get(SRV_VSCHEMA_PATH).catch((err: unknown) => {
      throw renamed(err, SRV_VSCHEMA_LABEL);
    });
    return { srvVSchema: contents, version };
  }

  /** Stored as given, returned byte for byte. An upsert, or compare-and-swap with `options.version`. */
  async save(srvVSchema: Uint8Array, options: VersionedWriteOptions = {}): Promise<Version> {
    validateProtoBytes(srvVSchema, vschemapb.SrvVSchema, 'srv_vschema', 'vschema.SrvVSchema');
    return this.store
      .update(SRV_VSCHEMA_PATH, srvVSchema, options.version ?? null, { fence: options.fence })
      .catch((err: unknown) => {
        throw renamed(err, SRV_VSCHEMA_LABEL);
      });
  }

  async delete(options: VersionedWriteOptions = {}): Promise<void> {
    await this.store.delete(SRV_VSCHEMA_PATH, options.version ?? null, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, SRV_VSCHEMA_LABEL);
    });
  }
}
