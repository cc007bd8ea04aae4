import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { TopoError, type KvEngine } from '../../store';
import type { RangeOptions, TxnRequest } from '../../store/engine';

/**
 * A client span per backend request (an etcd Range, Txn or lease call), as a child of the
 * store operation that made it. Watches are streams and get none: their opening read is
 * a Range like any other. Requests made outside any trace (health probes, the hub's own
 * re-lists) record nothing.
 */
export function tracedEngine(engine: KvEngine, tracer: Tracer): KvEngine {
  const traced = <T>(name: string, attributes: Attributes, fn: () => Promise<T>, describe?: (result: T) => Attributes): Promise<T> => {
    const parent = context.active();
    if (!trace.getSpan(parent)) return fn();
    const span = tracer.startSpan(
      `${engine.name}.${name}`,
      { kind: SpanKind.CLIENT, attributes: { 'db.system.name': engine.name, 'db.operation.name': name, ...attributes } },
      parent,
    );
    return context.with(trace.setSpan(parent, span), fn).then(
      (result) => {
        if (describe) span.setAttributes(describe(result));
        span.end();
        return result;
      },
      (err: unknown) => {
        if (TopoError.is(err)) span.setAttribute('topo.error', err.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        span.end();
        throw err;
      },
    );
  };
  return {
    name: engine.name,
    range: (key: string, options?: RangeOptions) =>
      traced('Range', { 'etcd.key': key, 'etcd.prefix': options?.prefix ?? false, 'etcd.keys_only': options?.keysOnly ?? false }, () => engine.range(key, options), (r) => ({
        'etcd.revision': Number(r.revision),
        'etcd.kvs': r.kvs.length,
      })),
    txn: (request: TxnRequest) =>
      traced(
        'Txn',
        {
          'etcd.compares': request.compare.length,
          'etcd.ops': request.success.length,
          'etcd.key': request.success[0]?.key ?? request.compare[0]?.key ?? '',
        },
        () => engine.txn(request),
        (r) => ({ 'etcd.succeeded': r.succeeded, 'etcd.revision': Number(r.revision) }),
      ),
    watch: (key, options) => engine.watch(key, options),
    leaseGrant: (ttlSeconds) => traced('LeaseGrant', { 'etcd.lease.ttl_seconds': ttlSeconds }, () => engine.leaseGrant(ttlSeconds)),
    leaseKeepAlive: (id) => traced('LeaseKeepAlive', { 'etcd.lease.id': id.toString(16) }, () => engine.leaseKeepAlive(id)),
    leaseTimeToLive: (id) => traced('LeaseTimeToLive', { 'etcd.lease.id': id.toString(16) }, () => engine.leaseTimeToLive(id)),
    leaseRevoke: (id) => traced('LeaseRevoke', { 'etcd.lease.id': id.toString(16) }, () => engine.leaseRevoke(id)),
    compact: (revision) => traced('Compact', { 'etcd.revision': Number(revision) }, () => engine.compact(revision)),
    alarms: () => traced('Alarms', {}, () => engine.alarms()),
    close: () => engine.close(),
  };
}
