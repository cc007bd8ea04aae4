/**
 * Writing pre-framed messages to a server stream, below grpc-js's per-call serialization.
 *
 * A watch sends the same message to thousands of streams. grpc-js's public path
 * (`ServerWritableStream.write`) serializes and frames it again for each stream and goes
 * through an object-mode Writable; writing the one framed Buffer (5-byte gRPC prefix plus
 * the encoded message) to each call's HTTP/2 stream costs a fraction of that. This module
 * is the only place that knows the grpc-js internals this needs:
 *
 * - a server call object (`ServerWritableStreamImpl`) keeps its intercepting call in
 *   `.call`; interceptors chain through `.nextCall`; the innermost
 *   (`BaseServerInterceptingCall`) holds the HTTP/2 stream in `.stream` and sets
 *   `.metadataSent` once the response headers are out.
 *
 * `grpcInternals()` checks at start-up that they are there. When they are not (another
 * grpc-js version), or for one call they cannot be found, writes fall back to the public
 * path, which the response serializer (`acceptFramed`) lets through unchanged.
 */
import { Metadata, type ServerWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import type { ServerHttp2Stream } from 'node:http2';

/** The gRPC frame of an encoded message: compressed flag 0, 4-byte length, the bytes. */
export function grpcFrame(parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const frame = Buffer.allocUnsafe(5 + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  let offset = 5;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.byteLength;
  }
  return frame;
}

/** Marks a Buffer as a complete gRPC frame, so the public path can unwrap it. */
const FRAMED = Symbol('topo.grpcFrame');

interface InnerCall {
  stream: ServerHttp2Stream;
  metadataSent: boolean;
}

/** What the start-up check found: whether framed writes go below grpc-js. */
export interface GrpcInternals {
  available: boolean;
  /** Why not, when not. */
  reason?: string;
}

let checked: GrpcInternals | undefined;

/**
 * Whether this grpc-js has the internals framed writes rely on: the intercepting call
 * classes with the members used here. Cached; logged once by the server at start-up.
 */
export function grpcInternals(): GrpcInternals {
  if (checked) return checked;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const interceptors = require('@grpc/grpc-js/build/src/server-interceptors') as Record<string, unknown>;
    const base = interceptors.BaseServerInterceptingCall as { prototype: Record<string, unknown> } | undefined;
    const chained = interceptors.ServerInterceptingCall as { prototype: Record<string, unknown> } | undefined;
    if (typeof base?.prototype.sendMetadata !== 'function' || typeof base.prototype.sendMessage !== 'function') {
      checked = { available: false, reason: 'grpc-js BaseServerInterceptingCall lacks sendMetadata/sendMessage' };
    } else if (typeof chained?.prototype.sendMessage !== 'function') {
      checked = { available: false, reason: 'grpc-js ServerInterceptingCall is missing' };
    } else {
      checked = { available: true };
    }
  } catch (err) {
    checked = { available: false, reason: `grpc-js server internals not found: ${String(err)}` };
  }
  return checked;
}

function innerCallOf(call: ServerWritableStream<unknown, unknown>): InnerCall | undefined {
  if (!grpcInternals().available) return undefined;
  let current = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; depth < 32 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as Partial<InnerCall> & { nextCall?: unknown };
    if (isHttp2Stream(candidate.stream) && typeof candidate.metadataSent === 'boolean') {
      return candidate as InnerCall;
    }
    current = candidate.nextCall;
  }
  return undefined;
}

/**
 * One call's framed writer. `write` returns false once the transport is above its
 * high-water mark; `'drain'` (see `onDrain`) says it can take more.
 */
export class FramedWriter {
  private readonly inner: InnerCall | undefined;
  private headersSent = false;
  /** Set once a frame took the public path: the rest follow it, so none overtakes another. */
  private publicOnly = false;

  constructor(private readonly call: ServerWritableStream<unknown, unknown>) {
    this.inner = innerCallOf(call);
  }

  /** True when frames go straight to the HTTP/2 stream. */
  get direct(): boolean {
    return this.inner !== undefined;
  }

  write(frame: Buffer): boolean {
    const inner = this.inner;
    if (inner && !this.publicOnly) {
      if (!this.headersSent) {
        // Through the public API, so interceptors see the response headers.
        this.call.sendMetadata(new Metadata());
        this.headersSent = true;
      }
      // An interceptor may hold the headers back: until they are out, frames keep their order
      // through the public path.
      if (inner.metadataSent) {
        if (inner.stream.destroyed || inner.stream.closed) return true;
        return inner.stream.write(frame);
      }
      this.publicOnly = true;
    }
    return this.call.write(markFramed(frame));
  }

  onDrain(listener: () => void): void {
    if (this.inner) this.inner.stream.on('drain', listener);
    this.call.on('drain', listener);
  }
}

function isHttp2Stream(value: unknown): value is ServerHttp2Stream {
  const stream = value as Partial<ServerHttp2Stream> | undefined;
  return typeof stream?.write === 'function' && typeof stream.respond === 'function' && typeof stream.on === 'function';
}

function markFramed(frame: Buffer): Buffer {
  (frame as Buffer & { [FRAMED]?: true })[FRAMED] = true;
  return frame;
}

/**
 * The definition with response serializers that pass framed Buffers through (without their
 * 5-byte prefix: grpc-js frames what the serializer returns) and serialize anything else
 * as before.
 */
export function acceptFramed<D extends ServiceDefinition>(definition: D): D {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const serialize = method.responseSerialize as (value: unknown) => Buffer;
    wrapped[name] = {
      ...method,
      responseSerialize: (value: unknown): Buffer =>
        Buffer.isBuffer(value) && (value as Buffer & { [FRAMED]?: true })[FRAMED] ? value.subarray(5) : serialize(value),
    };
  }
  return wrapped as D;
}
