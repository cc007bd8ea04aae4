/**
 * The deployment's routing rules in the global topology (Vitess `topo/routing_rules.go`,
 * file `RoutingRules`): a binary `vschema.RoutingRules` protobuf, as Vitess writes it.
 * Checked to decode, then stored as given and returned byte for byte.
 */
import { vschema as vschemapb } from '../proto';
import type { Store, Version } from '../store';
import { TopoError, TopoErrorCode } from '../store';
import type { ServingRules } from './rebuild';
import { KEYSPACE_ROUTING_RULES_PATH, MIRROR_RULES_PATH, ROUTING_RULES_PATH, SHARD_ROUTING_RULES_PATH } from './paths';
import { renamed } from './private/proto-record';
import { validateProtoBytes } from './validation';
import type { VersionedWriteOptions } from './write-options';

export interface RoutingRulesRecord {
  routingRules: Uint8Array;
  version: Version;
}

const LABEL = 'RoutingRules';

export class RoutingRules {
  constructor(private readonly store: Store) {}

  /** NoNode when none were ever saved (Vitess answers empty rules; a caller may do the same). */
  async get(): Promise<RoutingRulesRecord> {
    const { contents, version } = await this.store.get(ROUTING_RULES_PATH).catch((err: unknown) => {
      throw renamed(err, LABEL);
    });
    return { routingRules: contents, version };
  }

  /**
   * Every rule set a SrvVSchema carries, as stored (binary protobufs, undefined where none
   * is stored): the routing rules, and the shard, keyspace and mirror rules that Vitess
   * tools write at their own paths.
   */
  async serving(): Promise<ServingRules> {
    const read = (path: string): Promise<Uint8Array | undefined> =>
      this.store.get(path).then(
        (value) => value.contents,
        (err: unknown) => {
          if (TopoError.is(err, TopoErrorCode.NoNode)) return undefined;
          throw err;
        },
      );
    const [routingRules, shardRoutingRules, keyspaceRoutingRules, mirrorRules] = await Promise.all([
      read(ROUTING_RULES_PATH),
      read(SHARD_ROUTING_RULES_PATH),
      read(KEYSPACE_ROUTING_RULES_PATH),
      read(MIRROR_RULES_PATH),
    ]);
    return { routingRules, shardRoutingRules, keyspaceRoutingRules, mirrorRules };
  }

  async save(routingRules: Uint8Array, options: VersionedWriteOptions = {}): Promise<Version> {
    validateProtoBytes(routingRules, vschemapb.RoutingRules, 'routing_rules', 'vschema.RoutingRules');
    return this.store
      .update(ROUTING_RULES_PATH, routingRules, options.version ?? null, { fence: options.fence })
      .catch((err: unknown) => {
        throw renamed(err, LABEL);
      });
  }

  async delete(options: VersionedWriteOptions = {}): Promise<void> {
    await this.store.delete(ROUTING_RULES_PATH, options.version ?? null, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, LABEL);
    });
  }
}
