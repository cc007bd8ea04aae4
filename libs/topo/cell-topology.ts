/** Everything a cell's topology holds, over the cell's own store: what cell-topo's handlers use. */
import type { Store } from '../store';
import { SrvKeyspaces, SrvVSchemas } from './serving-graph';
import { ShardReplications } from './shard-replication';
import { Tablets } from './tablet';
import { TabletRegistry, type TabletRegistryOptions } from './tablet-registry';
import { validateCellName } from './validation';

export interface CellTopologyOptions {
  /** The cell served: tablets of other cells are refused. Unset: any cell (tests, tools). */
  cell?: string;
  /** TTL bounds of registrations. */
  registry?: Omit<TabletRegistryOptions, 'cell'>;
}

export class CellTopology {
  readonly cell: string | undefined;
  readonly tablets: Tablets;
  readonly registry: TabletRegistry;
  readonly shardReplications: ShardReplications;
  readonly srvKeyspaces: SrvKeyspaces;
  readonly srvVSchemas: SrvVSchemas;

  constructor(
    readonly store: Store,
    options: CellTopologyOptions = {},
  ) {
    this.cell = options.cell === undefined ? undefined : validateCellName(options.cell);
    this.tablets = new Tablets(store, { cell: this.cell });
    this.registry = new TabletRegistry(store, { ...options.registry, cell: this.cell });
    this.shardReplications = new ShardReplications(store);
    this.srvKeyspaces = new SrvKeyspaces(store);
    this.srvVSchemas = new SrvVSchemas(store);
  }
}
