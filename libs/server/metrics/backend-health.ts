import { Etcd3 } from 'etcd3';
import { Gauge, type Registry } from 'prom-client';

export interface BackendAlarm {
  /** etcd member ID, hex. */
  member: string;
  /** NOSPACE (database space exceeded: every put is refused) or CORRUPT. */
  alarm: string;
}

export interface BackendHealthView {
  backend: string;
  endpoints: string[];
  reachable: boolean;
  /** When reachability last changed (or the first probe). */
  since: Date;
  alarms: BackendAlarm[];
  /** Why the last alarm query failed, when it did. */
  alarmError?: string;
}

const ALARM_NAMES = ['NOSPACE', 'CORRUPT'];

/**
 * What the process knows about its backend: reachability from the server's health probe,
 * and etcd's raised alarms from its maintenance API, asked every `alarmIntervalMs`.
 */
export class BackendHealth {
  private reachable = false;
  private since = new Date();
  private alarms: BackendAlarm[] = [];
  private alarmError: string | undefined;
  private readonly client: Etcd3 | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: string,
    private readonly endpoints: string[],
    alarmIntervalMs = 10_000,
  ) {
    if (backend === 'etcd' && endpoints.length > 0) {
      this.client = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
      void this.checkAlarms();
      this.timer = setInterval(() => void this.checkAlarms(), alarmIntervalMs);
      this.timer.unref();
    }
  }

  /** Called by the server's health probe with each result. */
  setReachable(reachable: boolean): void {
    if (reachable !== this.reachable) {
      this.reachable = reachable;
      this.since = new Date();
    }
  }

  view(): BackendHealthView {
    return {
      backend: this.backend,
      endpoints: this.endpoints,
      reachable: this.reachable,
      since: this.since,
      alarms: this.alarms,
      ...(this.alarmError ? { alarmError: this.alarmError } : {}),
    };
  }

  async checkAlarms(): Promise<void> {
    if (!this.client) return;
    try {
      const response = await this.client.maintenance.alarm(
        { action: 'Get', memberID: '0', alarm: 'None' },
        { deadline: Date.now() + 2000 },
      );
      this.alarms = (response.alarms ?? []).map((a) => ({ member: BigInt(a.memberID).toString(16), alarm: String(a.alarm).toUpperCase() }));
      this.alarmError = undefined;
    } catch (err) {
      this.alarmError = (err as Error).message;
    }
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
      help: 'etcd members raising each alarm (NOSPACE: every put is refused until the alarm is disarmed).',
      labelNames: ['backend', 'alarm'],
      registers: [registry],
      collect() {
        for (const alarm of ALARM_NAMES) {
          this.set({ backend: health.backend, alarm }, health.alarms.filter((a) => a.alarm === alarm).length);
        }
      },
    });
    new Gauge({
      name: 'topo_backend_alarm_query_failing',
      help: '1 when the last query of etcd alarms failed (alarms unknown), else 0.',
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        this.set({ backend: health.backend }, health.alarmError === undefined ? 0 : 1);
      },
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.client?.close();
  }
}
