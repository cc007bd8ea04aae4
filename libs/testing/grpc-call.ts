import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { unaryCall } from '../client/unary-call';

/** Calls a generated grpc-js unary method and resolves with its response. */
export const call = unaryCall;

/** The gRPC status code a call fails with; fails the test when it succeeds. */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    return (err as ServiceError).code;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Reads a server stream message by message, with a deadline per message. */
export class StreamReader<T> {
  private readonly messages: T[] = [];
  private readonly waiters: Array<{ resolve: (m: T) => void; reject: (e: unknown) => void }> = [];
  private ended: ServiceError | Error | undefined;

  constructor(readonly stream: ClientReadableStream<T>) {
    stream.on('data', (message: T) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(message);
      else this.messages.push(message);
    });
    stream.on('error', (err: ServiceError) => this.finish(err));
    stream.on('end', () => this.finish(new Error('stream ended')));
  }

  next(timeoutMs = 10_000): Promise<T> {
    const message = this.messages.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stream message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Resolves with the status error (or plain end) that closes the stream. */
  async closed(timeoutMs = 10_000): Promise<ServiceError | Error> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`stream still open after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.ended;
  }

  cancel(): void {
    this.stream.cancel();
  }

  private finish(err: ServiceError | Error): void {
    if (this.ended) return;
    this.ended = err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}
