/**
 * A keyspace's VSchema in the global topology (Vitess `topo/vschema.go`): a binary
 * `vschema.Keyspace` protobuf, as Vitess writes it. Checked to decode, then stored as given
 * and returned byte for byte (fields newer than our copy of vschema.proto survive).
 */
import { vschema as vschemapb } from '../proto';
import type { Store, Version } from '../store';
import { vschemaPath } from './paths';
import { requireKeyspace } from './private/existence';
import { quote } from './private/field-error';
import { renamed } from './private/proto-record';
import { validateKeyspaceName, validateProtoBytes } from './validation';
import type { VersionedWriteOptions } from './write-options';

export interface VSchemaRecord {
  vschema: Uint8Array;
  version: Version;
}

const label = (keyspace: string): string => `vschema of keyspace ${quote(keyspace)}`;

export class VSchemas {
  constructor(private readonly store: Store) {}

  /** NoNode when the keyspace has no vschema. */
  async get(keyspace: string): Promise<VSchemaRecord> {
    const { contents, version } = await this.store.get(vschemaPath(keyspace)).catch((err: unknown) => {
      throw renamed(err, label(keyspace));
    });
    return { vschema: contents, version };
  }

  /** Saves the vschema of an existing keyspace (NoNode otherwise), as vtctld's ApplyVSchema requires. */
  async save(keyspace: string, vschema: Uint8Array, options: VersionedWriteOptions = {}): Promise<Version> {
    validateKeyspaceName(keyspace);
    validateProtoBytes(vschema, vschemapb.Keyspace, 'vschema', 'vschema.Keyspace');
    await requireKeyspace(this.store, keyspace);
    return this.store
      .update(vschemaPath(keyspace), vschema, options.version ?? null, { fence: options.fence })
      .catch((err: unknown) => {
        throw renamed(err, label(keyspace));
      });
  }

  async delete(keyspace: string, options: VersionedWriteOptions = {}): Promise<void> {
    await this.store.delete(vschemaPath(keyspace), options.version ?? null, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, label(keyspace));
    });
  }
}
