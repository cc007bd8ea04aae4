import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';

/** W3C trace context (traceparent, tracestate, baggage) lives in gRPC metadata as lowercase keys. */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

export const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

// Codes that are the server's fault; the others are answers (NOT_FOUND is not an error of the server).
const SERVER_ERRORS = new Set([status.UNKNOWN, status.INTERNAL, status.UNAVAILABLE, status.DATA_LOSS, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED]);

/**
 * A server span per RPC, continuing the caller's trace from its metadata. The handler runs
 * inside the span's context, so store and etcd spans below it are its children.
 */
export function rpcTracingInterceptor(tracer: Tracer): ServerInterceptor {
  return (method, call) => {
    const name = method.path.slice(1);
    const [service = '', rpcMethod = ''] = name.split('/');
    let ctx: Context = ROOT_CONTEXT;
    let span: ReturnType<Tracer['startSpan']> | undefined;
    const end = (code: number, details?: string): void => {
      if (!span) return;
      span.setAttribute('rpc.grpc.status_code', code);
      if (SERVER_ERRORS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: details });
      span.end();
      span = undefined;
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
            span = tracer.startSpan(
              name,
              {
                kind: SpanKind.SERVER,
                attributes: {
                  'rpc.system': 'grpc',
                  'rpc.service': service,
                  'rpc.method': rpcMethod,
                  'network.peer.address': call.getPeer(),
                },
              },
              parent,
            );
            ctx = trace.setSpan(parent, span);
            context.with(ctx, () => nextMetadata(metadata));
          },
          onReceiveMessage: (message, nextMessage) => context.with(ctx, () => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => context.with(ctx, () => nextHalfClose()),
          onCancel: () => end(status.CANCELLED, 'cancelled by the client'),
        }),
      sendStatus: (sent, next) => {
        end(sent.code ?? status.UNKNOWN, sent.details);
        next(sent);
      },
    });
  };
}
