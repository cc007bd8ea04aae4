import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Latency buckets, seconds: sub-millisecond reads up to hour-long watch streams. */
export const RPC_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

type RpcLabel = 'grpc_service' | 'grpc_method' | 'grpc_type';

/**
 * Every RPC, counted where grpc-js runs it: started and handled (by status code), how long
 * it took, and the streams open now. Named as go-grpc-prometheus names them, so Vitess
 * dashboards read them. Only the call's start and status are seen: the interceptor never
 * touches messages, so streams that write pre-framed bytes cost nothing more.
 */
export function rpcMetricsInterceptor(registry: Registry): ServerInterceptor {
  const labelNames: RpcLabel[] = ['grpc_service', 'grpc_method', 'grpc_type'];
  const started = new Counter({
    name: 'topo_grpc_server_started_total',
    help: 'RPCs started on the server.',
    labelNames,
    registers: [registry],
  });
  const handled = new Counter({
    name: 'topo_grpc_server_handled_total',
    help: 'RPCs completed on the server, by gRPC status code (CANCELLED when the client went away).',
    labelNames: [...labelNames, 'grpc_code'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'topo_grpc_server_handling_seconds',
    help: 'Time from the start of an RPC to its status, seconds (streams: their whole life).',
    labelNames,
    buckets: RPC_SECONDS_BUCKETS,
    registers: [registry],
  });
  const streams = new Gauge({
    name: 'topo_grpc_server_streams_in_flight',
    help: 'Streaming RPCs open now.',
    labelNames: ['grpc_service', 'grpc_method'],
    registers: [registry],
  });
  const codeNames = new Map<number, string>(
    Object.entries(status)
      .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
      .map(([name, code]) => [code, name]),
  );

  return (method, call) => {
    const [service = '', name = ''] = method.path.slice(1).split('/');
    const type = method.requestStream ? (method.responseStream ? 'bidi_stream' : 'client_stream') : method.responseStream ? 'server_stream' : 'unary';
    const labels = { grpc_service: service, grpc_method: name, grpc_type: type };
    const streaming = method.requestStream || method.responseStream;
    const begun = process.hrtime.bigint();
    let done = false;
    started.inc(labels);
    if (streaming) streams.inc({ grpc_service: service, grpc_method: name });
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      handled.inc({ ...labels, grpc_code: codeNames.get(code) ?? String(code) });
      seconds.observe(labels, Number(process.hrtime.bigint() - begun) / 1e9);
      if (streaming) streams.dec({ grpc_service: service, grpc_method: name });
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => finish(status.CANCELLED) }),
      sendStatus: (sent, next) => {
        finish(sent.code ?? status.UNKNOWN);
        next(sent);
      },
    });
  };
}
