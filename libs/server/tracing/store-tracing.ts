import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { TopoError, TopoErrorCode, type StoreInterceptor } from '../../store';

// Answers, not failures: a Get of a missing file, a Create that lost a race.
const EXPECTED = new Set<TopoErrorCode>([TopoErrorCode.NoNode, TopoErrorCode.NodeExists, TopoErrorCode.BadVersion]);

/**
 * A client span per store operation (each is one etcd request or transaction; Lock spans
 * include the wait in the queue), as a child of whatever span is active: the RPC's.
 */
export function storeTracingInterceptor(tracer: Tracer, backend: string, root: string): StoreInterceptor {
  return (call, next) => {
    const parent = context.active();
    // No RPC span active (the hub's own watches, timers): no root spans of store chatter.
    if (!trace.getSpan(parent)) return next();
    const span = tracer.startSpan(
      `topo.${call.operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': backend, 'db.operation.name': call.operation, 'topo.root': root, 'topo.path': call.path },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), next).then(
      (result) => {
        span.end();
        return result;
      },
      (err: unknown) => {
        const code = TopoError.is(err) ? err.code : 'Internal';
        span.setAttribute('topo.error', code);
        if (!EXPECTED.has(code as TopoErrorCode)) span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        span.end();
        throw err;
      },
    );
  };
}
