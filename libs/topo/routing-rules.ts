/**
 * The deployment's routing rules in the global topology (Vitess `topo/routing_rules.go`,
 * file `RoutingRules`). Stored as given and returned byte for byte (Vitess writes a
 * `vschema.RoutingRules` proto here).
 */
import type { Store, Version } from '../store';
import { ROUTING_RULES_PATH } from './paths';
import { renamed } from './private/proto-record';
import { validateValueSize } from './validation';
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

  async save(routingRules: Uint8Array, options: VersionedWriteOptions = {}): Promise<Version> {
    validateValueSize(routingRules, 'routing_rules');
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
