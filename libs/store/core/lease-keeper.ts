import type { KvEngine } from '../engine';
import { TopoError, TopoErrorCode } from '../errors';

/**
 * Keeps one lease alive and says promptly when it is lost: at once when the backend
 * reports the lease gone, and at the latest one TTL after the last successful refresh when
 * the backend cannot be reached (the lease may already be gone there).
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = Date.now();
  private stopped = false;

  constructor(
    private readonly engine: KvEngine,
    readonly leaseId: bigint,
    private readonly ttlSeconds: number,
  ) {
    this.schedule();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  markLost(reason: string): void {
    if (!this.controller.signal.aborted) {
      this.controller.abort(new TopoError(TopoErrorCode.LockLost, reason));
    }
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = Math.max(100, Math.floor((this.ttlSeconds * 1000) / 3));
    this.timer = setTimeout(() => void this.refresh(), interval);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    try {
      await this.engine.leaseKeepAlive(this.leaseId);
      this.lastRefresh = Date.now();
    } catch (err) {
      if (TopoError.is(err, TopoErrorCode.NoNode)) {
        this.markLost(`lease ${this.leaseId.toString(16)} expired`);
        return;
      }
      if (Date.now() - this.lastRefresh >= this.ttlSeconds * 1000) {
        this.markLost(`lease ${this.leaseId.toString(16)} not refreshed for ${this.ttlSeconds}s: ${String(err)}`);
        return;
      }
    }
    this.schedule();
  }
}
