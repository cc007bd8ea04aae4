/** Everything the global topology holds, over one store: what global-topo's handlers use. */
import type { Store } from '../store';
import { Cells } from './cell-info';
import { CellsAliases } from './cells-alias';
import { Keyspaces } from './keyspace';
import { Locks } from './locks';
import { RoutingRules } from './routing-rules';
import { Shards } from './shard';
import { VSchemas } from './vschema';

export class GlobalTopology {
  readonly keyspaces: Keyspaces;
  readonly shards: Shards;
  readonly cells: Cells;
  readonly cellsAliases: CellsAliases;
  readonly vschemas: VSchemas;
  readonly routingRules: RoutingRules;
  readonly locks: Locks;

  constructor(readonly store: Store) {
    this.locks = new Locks(store);
    this.keyspaces = new Keyspaces(store);
    this.shards = new Shards(store, this.locks);
    this.cellsAliases = new CellsAliases(store);
    this.cells = new Cells(store, this.cellsAliases);
    this.vschemas = new VSchemas(store);
    this.routingRules = new RoutingRules(store);
  }
}
