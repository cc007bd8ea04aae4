import { Gauge, type Registry } from 'prom-client';
import { Tablet, tabletTypeToJSON } from '../../libs/proto';
import { TopoError, TopoErrorCode } from '../../libs/store';
import { LIVENESS_DIR, TABLETS_DIR, TABLET_FILE } from '../../libs/topo';
import type { WatchHub } from '../../libs/watch';

export interface CensusTablet {
  alias: string;
  /** Undefined while only the Alive key is known. */
  tablet?: Tablet;
  alive: boolean;
}

/**
 * The cell's tablets, kept by one subscriber of the watch hub on `tablets/` and `liveness/`
 * (the backend watch routers already share): registered records and liveness keys, for /metrics and
 * /debug/status without listing the cell on every scrape.
 */
export class TabletCensus {
  private readonly tablets = new Map<string, CensusTablet>();
  private readonly controller = new AbortController();
  private synced = false;
  private revision = 0n;

  constructor(private readonly hub: WatchHub) {
    void this.follow();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  get atRevision(): bigint {
    return this.revision;
  }

  counts(): { registered: number; alive: number } {
    let registered = 0;
    let alive = 0;
    for (const t of this.tablets.values()) {
      if (t.tablet) registered++;
      if (t.alive) alive++;
    }
    return { registered, alive };
  }

  /** Sorted by alias, at most `limit`. */
  list(limit: number): CensusTablet[] {
    return [...this.tablets.values()].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0)).slice(0, limit);
  }

  get size(): number {
    return this.tablets.size;
  }

  register(registry: Registry): void {
    const census = this;
    new Gauge({
      name: 'topo_tablets_registered',
      help: "Tablet records in this cell's topology (Vitess keeps records of tablets that are down).",
      registers: [registry],
      collect() {
        this.set(census.counts().registered);
      },
    });
    new Gauge({
      name: 'topo_tablets_alive',
      help: 'Tablets whose liveness lease is alive: what routers route to.',
      registers: [registry],
      collect() {
        this.set(census.counts().alive);
      },
    });
  }

  close(): void {
    this.controller.abort();
  }

  private async follow(): Promise<void> {
    while (!this.controller.signal.aborted) {
      const subscription = this.hub.subscribe([TABLETS_DIR, LIVENESS_DIR], { signal: this.controller.signal });
      try {
        for await (const message of subscription) {
          this.revision = message.revision;
          if (message.kind === 'snapshot') {
            this.tablets.clear();
            for (const entry of message.entries) this.apply(entry.path, entry.contents);
          } else if (message.kind === 'marker') {
            this.synced = true;
          } else if (message.kind === 'batch') {
            for (const event of message.events) this.apply(event.path, event.type === 'put' ? event.contents : undefined);
          }
        }
        return;
      } catch (err) {
        // Interrupted: the hub closed. Anything else (compaction, too slow): list again.
        if (TopoError.is(err, TopoErrorCode.Interrupted) || this.controller.signal.aborted) return;
        this.synced = false;
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  private apply(path: string, contents: Uint8Array | undefined): void {
    const record = /^tablets\/([^/]+)\/([^/]+)$/.exec(path);
    const liveness = /^liveness\/([^/]+)$/.exec(path);
    const alias = record?.[1] ?? liveness?.[1];
    if (!alias || (record && record[2] !== TABLET_FILE)) return;
    const entry = this.tablets.get(alias) ?? { alias, alive: false };
    if (record) {
      if (contents === undefined) entry.tablet = undefined;
      else {
        try {
          entry.tablet = Tablet.decode(contents);
        } catch {
          entry.tablet = undefined;
        }
      }
    } else {
      entry.alive = contents !== undefined;
    }
    if (!entry.tablet && !entry.alive) this.tablets.delete(alias);
    else this.tablets.set(alias, entry);
  }
}

export const tabletTypeName = (type: number): string => tabletTypeToJSON(type);
