import { EventEmitter } from 'node:events';
import { TabletType, type SrvKeyspace, type Tablet } from '../proto';
import { SrvKeyspaceWatch } from './srv-keyspace-watch';
import { CellTopoServiceClient } from '../proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient } from '../proto/gen/topo/global/v1/global';
import { CellTablets, type TabletEntry } from './cell-tablets';
import { unaryCall } from './unary-call';
import { channelCredentials, tlsChannelOptions, type ClientTlsFiles } from './channel-credentials';

export interface RouterViewOptions {
  /** global-topo's address, host:port: where cells are discovered. */
  globalAddress: string;
  /** Watch only these cells; default every cell in the global topology. */
  cells?: string[];
  /** Serving graphs to watch; default every keyspace in the global topology at start. */
  keyspaces?: string[];
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** TLS files for global-topo and every cell-topo; unset: plaintext. */
  tls?: ClientTlsFiles;
}

export interface TabletViewChange {
  cell: string;
  alias: string;
  /** The tablet now; undefined when it left the view. */
  entry: TabletEntry | undefined;
}

/**
 * What a router embeds: the tablets of every watched cell, held in memory and answered
 * synchronously. A cell that becomes unreachable keeps its last view (see `staleness`);
 * when it returns the view resumes from its last revision and applies exactly the missed
 * changes, or re-lists when the revision is too old. Emits 'change' per applied tablet
 * change and 'serving' when a keyspace's serving graph changes in a cell.
 */
export class RouterView extends EventEmitter {
  private readonly cells = new Map<string, CellTablets>();
  private readonly serving = new Map<string, SrvKeyspaceWatch>();
  private readonly clients: Array<{ close(): void }> = [];

  constructor(private readonly options: RouterViewOptions) {
    super();
  }

  /** Discovers the cells and resolves once each has delivered its first snapshot. */
  async start(): Promise<void> {
    const global = new GlobalTopoServiceClient(this.options.globalAddress, channelCredentials(this.options.tls), tlsChannelOptions(this.options.tls));
    this.clients.push(global);
    const names = this.options.cells ?? (await unaryCall(global.listCellInfos.bind(global), {})).names;
    const keyspaces = this.options.keyspaces ?? (await unaryCall(global.listKeyspaces.bind(global), {})).names;
    for (const cell of names) {
      const info = await unaryCall(global.getCellInfo.bind(global), { name: cell });
      const client = new CellTopoServiceClient(info.cellInfo!.serverAddress, channelCredentials(this.options.tls), {
        ...tlsChannelOptions(this.options.tls),
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      });
      this.clients.push(client);
      const tablets = new CellTablets(
        cell,
        client,
        (changedCell, changes) => {
          for (const change of changes) this.emit('change', { cell: changedCell, ...change } satisfies TabletViewChange);
        },
        { minMs: this.options.minBackoffMs, maxMs: this.options.maxBackoffMs },
      );
      this.cells.set(cell, tablets);
      for (const keyspace of keyspaces) {
        const watch = new SrvKeyspaceWatch(cell, keyspace, client, (w) => this.emit('serving', { cell: w.cell, keyspace: w.keyspace, srvKeyspace: w.value }), {
          minMs: this.options.minBackoffMs,
          maxMs: this.options.maxBackoffMs,
        });
        this.serving.set(`${cell}/${keyspace}`, watch);
      }
    }
    await Promise.all([...this.cells.values()].map((c) => c.ready()));
  }

  /** Alive tablets of a keyspace, shard and type, in one cell or all watched cells; sorted by alias. */
  healthyTablets(keyspace: string, shard: string, type: TabletType, cell?: string): Tablet[] {
    const result: Array<{ alias: string; tablet: Tablet }> = [];
    for (const [name, tablets] of this.cells) {
      if (cell !== undefined && name !== cell) continue;
      for (const [alias, entry] of tablets.tablets) {
        const t = entry.tablet;
        if (t && entry.alive && t.keyspace === keyspace && t.shard === shard && t.type === type) result.push({ alias, tablet: t });
      }
    }
    return result.sort((a, b) => (a.alias < b.alias ? -1 : 1)).map((r) => r.tablet);
  }

  /** The serving graph of a keyspace in a cell, as last received; undefined when it has none. */
  srvKeyspace(cell: string, keyspace: string): SrvKeyspace | undefined {
    return this.serving.get(`${cell}/${keyspace}`)?.value;
  }

  /** Every tablet the view holds, alive or not, by cell. */
  allTablets(cell: string): Map<string, TabletEntry> {
    return new Map(this.cells.get(cell)?.tablets ?? []);
  }

  /**
   * How stale each cell's view may be, in milliseconds: 0 while live; else since the cell
   * last answered, or since its cell-topo said it cannot reach its etcd (it keeps serving
   * what it has, and says when it is live again).
   */
  staleness(): Record<string, number> {
    return Object.fromEntries([...this.cells].map(([cell, tablets]) => [cell, tablets.staleForMs]));
  }

  cellStats(cell: string): CellTablets['stats'] | undefined {
    return this.cells.get(cell)?.stats;
  }

  revision(cell: string): bigint | undefined {
    return this.cells.get(cell)?.appliedRevision;
  }

  close(): void {
    for (const tablets of this.cells.values()) tablets.close();
    for (const watch of this.serving.values()) watch.close();
    for (const client of this.clients) client.close();
  }
}
