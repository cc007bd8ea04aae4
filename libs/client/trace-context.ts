import { InterceptingCall, Metadata, type Interceptor } from '@grpc/grpc-js';
import { context, propagation } from '@opentelemetry/api';

/**
 * Writes the caller's active trace context (W3C traceparent, tracestate, baggage) into each
 * call's metadata, so a trace started by a tablet, a router or an operator's tool continues
 * on the server. Without an OpenTelemetry SDK in the process the propagator is a no-op.
 */
export const traceContextInterceptor: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start: (metadata: Metadata, listener, next) => {
      propagation.inject(context.active(), metadata, { set: (carrier, key, value) => carrier.set(key, value) });
      next(metadata, listener);
    },
  });
