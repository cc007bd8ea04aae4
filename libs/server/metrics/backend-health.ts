import { Gauge, type Registry } from 'prom-client';


export interface BackendHealthView {
  backend: string;
  endpoints: string[];
  reachable: boolean;
  /** When reachability last changed (or the first probe). */
  since: Date;
  /** Alarms the backend raised at the last probe, e.g. NOSPACE (every put refused). */
  alarms: string[];
}

const ALARM_NAMES = ['NOSPACE', 'CORRUPT'];

/**
 * What the process knows about its backend, from the server's health probe (once a
 * second): whether it answers, since when, and the alarms it has raised (the store's
 * `alarms()`, etcd's maintenance Alarm API).
 */
export class BackendHealth {
  private reachable = false;
  private since = new Date();
  private alarms: string[] = [];

  constructor(
    private readonly backend: string,
    private readonly endpoints: string[],
  ) {}

  /** Called by the server's health probe with each result. */
  setReachable(reachable: boolean): void {
    if (reachable !== this.reachable) {
      this.reachable = reachable;
      this.since = new Date();
    }
  }

  /** Called by the server's health probe with the alarms it read. */
  setAlarms(alarms: readonly string[]): void {
    this.alarms = [...alarms];
  }

  view(): BackendHealthView {
    return { backend: this.backend, endpoints: this.endpoints, reachable: this.reachable, since: this.since, alarms: this.alarms };
  }

  register(registry: Registry): void {
    const health = this;
    new Gauge({
      name: 'topo_backend_up',
      help: "1 while the backend answers the server's health probe, else 0 (the service reports NOT_SERVING).",
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        this.set({ backend: health.backend }, health.reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'topo_backend_alarms',
      help: 'Backend alarms raised, by alarm (etcd NOSPACE: every put is refused until the alarm is disarmed).',
      labelNames: ['backend', 'alarm'],
      registers: [registry],
      collect() {
        this.reset();
        // "NOSPACE on etcd member 8e9e05c52164694d": one raised alarm of one member.
        const names = health.alarms.map((a) => a.split(' ')[0]!.toUpperCase());
        for (const alarm of new Set([...ALARM_NAMES, ...names])) {
          this.set({ backend: health.backend, alarm }, names.filter((a) => a === alarm).length);
        }
      },
    });
  }
}
