import type { Etcd3 } from 'etcd3';
import { TopoError, TopoErrorCode, noNode } from '../errors';
import { fromEtcdError } from './etcd-errors';

interface Waiter {
  resolve(ttl: number): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * Lease refreshes over one shared LeaseKeepAlive stream (etcd 3.4 has no unary keepalive).
 * Answers come back in request order per lease ID; a broken stream fails what is in flight
 * and the next refresh opens a new one.
 */
export class KeepAliveChannel {
  private stream: Promise<Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>> | undefined;
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly client: Etcd3,
    private readonly timeoutMs: number,
  ) {}

  async keepAlive(id: bigint): Promise<number> {
    const stream = await this.open();
    const key = id.toString();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(key, waiter);
        reject(new TopoError(TopoErrorCode.Unavailable, `lease ${id.toString(16)} keepalive: no answer from etcd`));
      }, this.timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      const list = this.waiting.get(key) ?? [];
      list.push(waiter);
      this.waiting.set(key, list);
      stream.write({ ID: key });
    });
  }

  close(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.failAll(new TopoError(TopoErrorCode.Unavailable, 'etcd client closed'));
    // Half-closed before the cancel, as watch streams are (see etcd-watch.ts).
    void stream?.then((s) => (s.end(), s.cancel())).catch(() => undefined);
  }

  private open(): ReturnType<Etcd3['leaseClient']['leaseKeepAlive']> {
    if (this.stream) return this.stream;
    const opening = this.client.leaseClient.leaseKeepAlive().then((stream) => {
      stream.on('data', (response) => {
        const list = this.waiting.get(response.ID);
        const waiter = list?.shift();
        if (list && list.length === 0) this.waiting.delete(response.ID);
        if (!waiter) return;
        clearTimeout(waiter.timer);
        const ttl = Number(response.TTL);
        if (ttl > 0) waiter.resolve(ttl);
        else waiter.reject(noNode(`lease ${BigInt(response.ID).toString(16)}`));
      });
      const broken = (err: unknown): void => {
        if (this.stream === opening) this.stream = undefined;
        this.failAll(fromEtcdError(err, 'lease keepalive'));
      };
      stream.on('error', broken);
      stream.on('end', () => broken(new TopoError(TopoErrorCode.Unavailable, 'lease keepalive stream ended')));
      return stream;
    });
    opening.catch(() => {
      if (this.stream === opening) this.stream = undefined;
    });
    this.stream = opening;
    return opening;
  }

  private remove(key: string, waiter: Waiter): void {
    const list = this.waiting.get(key);
    if (!list) return;
    const index = list.indexOf(waiter);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.waiting.delete(key);
  }

  private failAll(err: unknown): void {
    for (const list of this.waiting.values()) {
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.reject(err);
      }
    }
    this.waiting.clear();
  }
}
