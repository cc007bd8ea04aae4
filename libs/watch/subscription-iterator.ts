import type { HubMessage, HubSink, PushSubscription, SinkMessage, Subscription } from './messages';

type Result = IteratorResult<HubMessage, undefined>;

const DONE: Result = { done: true, value: undefined };

/**
 * A push subscription read as an async iterator, for callers that pull (tests, embedding,
 * the SDK's in-process use). It takes one delivery at a time: while the reader has not
 * taken it, the hub counts further batches as backlog, exactly as for a full gRPC stream,
 * and what accumulated arrives merged, then is handed out one transaction at a time.
 */
export class IteratorSubscription implements Subscription, AsyncIterableIterator<HubMessage, undefined>, HubSink {
  private queue: HubMessage[] = [];
  private waiter: { resolve(result: Result): void; reject(error: unknown): void } | undefined;
  private finished: { error: unknown } | undefined;
  private core: PushSubscription | undefined;
  /** The revision of the last message handed to the reader. */
  private taken = 0n;
  private readonly endController = new AbortController();

  constructor(readonly prefix: string) {}

  /** Connects the push side; called once by the hub. */
  attach(core: PushSubscription): void {
    this.core = core;
    this.taken = core.lastRevision;
  }

  get lastRevision(): bigint {
    return this.queue.length === 0 ? (this.core?.lastRevision ?? this.taken) : this.taken;
  }

  get ended(): AbortSignal {
    return this.endController.signal;
  }

  send(message: SinkMessage): boolean {
    if (message.kind === 'batches') this.queue.push(...message.batches);
    else this.queue.push(message);
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(this.take());
    }
    return this.queue.length === 0;
  }

  end(error: unknown): void {
    if (this.finished) return;
    // A closed subscription hands out nothing more; one that failed first hands out what it
    // was sent, so the resume point in its error is right.
    if (error === undefined) this.queue = [];
    this.finished = { error };
    this.endController.abort(error);
    const waiter = this.waiter;
    this.waiter = undefined;
    // What was delivered before the end is still handed out, then the end itself.
    if (waiter) this.settle(waiter);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<Result> {
    if (this.waiter) return Promise.reject(new Error('Subscription.next() called while a previous call is pending'));
    if (this.queue.length > 0) {
      const result = this.take();
      if (this.queue.length === 0) this.core?.resume();
      return Promise.resolve(result);
    }
    if (this.finished) return this.finishedResult();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.core?.resume();
    });
  }

  return(): Promise<Result> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    this.core?.close();
    this.end(undefined);
  }

  private take(): Result {
    const value = this.queue.shift()!;
    if (value.revision > this.taken) this.taken = value.revision;
    return { done: false, value };
  }

  private settle(waiter: { resolve(result: Result): void; reject(error: unknown): void }): void {
    if (this.queue.length > 0) waiter.resolve(this.take());
    else this.finishedResult().then(waiter.resolve, waiter.reject);
  }

  private finishedResult(): Promise<Result> {
    const error = this.finished?.error;
    if (error === undefined) return Promise.resolve(DONE);
    // Thrown once; later reads are done.
    this.finished = { error: undefined };
    return Promise.reject(error);
  }
}
