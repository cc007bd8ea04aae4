import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  ServerDuplexStream,
  handleUnaryCall,
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { toServiceError } from './errors';
import { FramedWriter } from './grpc-frames';
import { errorFields, type Logger } from './logger';
import { identityOf } from './tls';

/**
 * Every handler goes through these wrappers: a rejected promise becomes a gRPC status
 * (never an unhandled rejection), internal errors are logged with their stack, and
 * streaming handlers get one AbortSignal for however the client goes away.
 */
export interface HandlerContext {
  /** Aborted when the client cancels, the deadline passes, or the server shuts down. */
  signal: AbortSignal;
  log: Logger;
  /** The client's address, for records of who did what. */
  peer: string;
  /** The caller's verified certificate identity (URI SAN, else CN); undefined without mTLS. */
  identity?: string;
}

export interface CallTracker {
  /** Signal aborted when the server starts shutting down. */
  readonly shuttingDown: AbortSignal;
  readonly log: Logger;
  /** Runs at shutdown, before the store closes. */
  onShutdown(cleanup: () => Promise<void>): void;
  /** Health stays NOT_SERVING while the check returns a reason (a dependency not yet known). */
  addReadinessCheck(check: () => string | undefined): void;
  /** Told whenever the store's reachability, as the health probe sees it, changes. */
  onStoreReachability(listener: (reachable: boolean) => void): void;
}

export function unary<Req, Res>(
  tracker: CallTracker,
  method: string,
  handler: (request: Req, ctx: HandlerContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const controller = new AbortController();
    const onCancel = (): void => controller.abort();
    call.on('cancelled', onCancel);
    const signal = AbortSignal.any([controller.signal, tracker.shuttingDown]);
    handler(call.request, { signal, log: tracker.log, peer: call.getPeer(), identity: identityOf(call.getAuthContext()) }).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const mapped = toServiceError(err);
        if (mapped.internal) tracker.log.error('handler failed', { method, ...errorFields(err) });
        callback({ code: mapped.code, details: mapped.details, name: 'Error', message: mapped.details });
      },
    );
  };
}

/** Writes one message, resolving once the stream can take more (grpc-js 'drain'). */
export type StreamWriter<Res> = (message: Res) => Promise<void>;

export function serverStream<Req, Res>(
  tracker: CallTracker,
  method: string,
  handler: (request: Req, write: StreamWriter<Res>, ctx: HandlerContext) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const controller = new AbortController();
    // A client going away shows up as 'cancelled', 'close' or 'error' depending on timing.
    const gone = (): void => controller.abort();
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
    const signal = AbortSignal.any([controller.signal, tracker.shuttingDown]);
    const write: StreamWriter<Res> = (message) => writeWithBackpressure(call, message, signal);
    handler(call.request, write, { signal, log: tracker.log, peer: call.getPeer(), identity: identityOf(call.getAuthContext()) }).then(
      () => endStream(call, controller.signal, tracker, method, undefined),
      (err: unknown) => endStream(call, controller.signal, tracker, method, err),
    );
  };
}

// Every open watch stream waits for shutdown. An EventTarget scans its listeners on every
// add and remove, which with tens of thousands of streams made opening and closing them
// quadratic: one listener per signal serves a set instead.
// One reason for every ended push stream: aborting without one builds a DOMException each time.
const CALL_ENDED = Object.freeze(new Error('the call ended'));

const shutdownSets = new WeakMap<AbortSignal, Set<() => void>>();

function shutdownListeners(signal: AbortSignal): Set<() => void> {
  let listeners = shutdownSets.get(signal);
  if (!listeners) {
    const set = new Set<() => void>();
    listeners = set;
    shutdownSets.set(signal, set);
    signal.addEventListener('abort', () => {
      for (const listener of [...set]) listener();
    }, { once: true });
  }
  return listeners;
}

/**
 * A stream the server pushes pre-framed messages to (watches): no promise, iterator or
 * timer per message. `write` returns false when the transport is full; the producer waits
 * for `onDrain`. `end` finishes the call once: OK without an error, else its status.
 */
export interface PushStream {
  /** True when frames go straight to the HTTP/2 stream (see grpc-frames.ts). */
  readonly direct: boolean;
  write(frame: Buffer): boolean;
  onDrain(listener: () => void): void;
  end(error?: unknown): void;
}

/**
 * A server-streaming handler that pushes: `open` sets up the producer and returns; it ends
 * the call through `stream.end`. `ctx.signal` aborts when the client goes away or the
 * server shuts down (the producer should then stop; the call is already over). A throw from
 * `open` ends the call with the error's status.
 */
export function pushStream<Req>(
  tracker: CallTracker,
  method: string,
  open: (request: Req, stream: PushStream, ctx: HandlerContext) => void,
): handleServerStreamingCall<Req, unknown> {
  return (call: ServerWritableStream<Req, unknown>) => {
    const controller = new AbortController();
    let ended = false;
    const gone = (): void => {
      shutdownListeners(tracker.shuttingDown).delete(shutdown);
      controller.abort(CALL_ENDED);
    };
    const shutdown = (): void => {
      finish(undefined);
      controller.abort(CALL_ENDED);
    };
    const finish = (err: unknown): void => {
      if (ended) return;
      ended = true;
      shutdownListeners(tracker.shuttingDown).delete(shutdown);
      endStream(call, controller.signal, tracker, method, err);
    };
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
    if (tracker.shuttingDown.aborted) {
      shutdown();
      return;
    }
    shutdownListeners(tracker.shuttingDown).add(shutdown);
    const writer = new FramedWriter(call as ServerWritableStream<unknown, unknown>);
    const stream: PushStream = {
      direct: writer.direct,
      write: (frame) => (ended || controller.signal.aborted ? true : writer.write(frame)),
      onDrain: (listener) => writer.onDrain(listener),
      end: finish,
    };
    try {
      open(call.request, stream, { signal: controller.signal, log: tracker.log, peer: call.getPeer() });
    } catch (err) {
      finish(err);
    }
  };
}

/**
 * Ends a stream whose handler finished: nothing when the client already went away,
 * UNAVAILABLE when the server is shutting down (the client retries elsewhere, whatever the
 * handler saw), OK on success, else the error's status.
 */
function endStream(
  call: { end(): void; emit(event: 'error', status: { code: status; details: string }): boolean },
  clientGone: AbortSignal,
  tracker: CallTracker,
  method: string,
  err: unknown,
): void {
  if (clientGone.aborted) return;
  if (tracker.shuttingDown.aborted) {
    call.emit('error', { code: status.UNAVAILABLE, details: 'server shutting down' });
    return;
  }
  if (err === undefined) {
    call.end();
    return;
  }
  const mapped = toServiceError(err);
  if (mapped.internal) tracker.log.error('stream handler failed', { method, ...errorFields(err) });
  // grpc-js turns an 'error' event into the call's status, after the queued messages.
  call.emit('error', { code: mapped.code, details: mapped.details });
}

/**
 * A bidirectional stream: the handler reads requests as an async iterable (ending when the
 * client half-closes) and writes with backpressure.
 */
export function bidiStream<Req, Res>(
  tracker: CallTracker,
  method: string,
  handler: (requests: AsyncIterable<Req>, write: StreamWriter<Res>, ctx: HandlerContext) => Promise<void>,
): handleBidiStreamingCall<Req, Res> {
  return (call: ServerDuplexStream<Req, Res>) => {
    const controller = new AbortController();
    const gone = (): void => controller.abort();
    call.on('cancelled', gone);
    call.on('error', gone);
    const signal = AbortSignal.any([controller.signal, tracker.shuttingDown]);
    const writable = call as unknown as ServerWritableStream<unknown, Res>;
    const write: StreamWriter<Res> = (message) => writeWithBackpressure(writable, message, signal);
    const requests = readRequests<Req>(call, signal);
    handler(requests, write, { signal, log: tracker.log, peer: call.getPeer(), identity: identityOf(call.getAuthContext()) }).then(
      () => endStream(call, controller.signal, tracker, method, undefined),
      (err: unknown) => endStream(call, controller.signal, tracker, method, err),
    );
  };
}

/** The client's messages until it half-closes; ends early (without error) when the call goes away. */
async function* readRequests<Req>(call: ServerDuplexStream<Req, unknown>, signal: AbortSignal): AsyncGenerator<Req> {
  const queue: Req[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (message: Req) => {
    queue.push(message);
    notify();
  });
  call.on('end', () => {
    done = true;
    notify();
  });
  signal.addEventListener('abort', () => {
    done = true;
    notify();
  }, { once: true });
  for (;;) {
    const next = queue.shift();
    if (next !== undefined) {
      yield next;
      continue;
    }
    if (done || signal.aborted) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

export function writeWithBackpressure<Res>(
  call: ServerWritableStream<unknown, Res>,
  message: Res,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      call.removeListener('drain', onDrain);
      reject(signal.reason);
    };
    call.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
