import { Metadata, credentials, status } from '@grpc/grpc-js';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { globalTopoClient } from '../../libs/client/typed-client';
import { GlobalTopoServiceClient } from '../../libs/proto/gen/topo/global/v1/global';
import { tracingRequested } from '../../libs/server/tracing/tracing-env';
import { call, codeOf } from '../../libs/testing/grpc-call';
import { startObserved, type ObservedServer } from '../../libs/testing/observed';
import { globalTopoServices } from './global-topo-wiring';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let served: ObservedServer;
let client: GlobalTopoServiceClient;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
  context.disable();
});
beforeEach(async () => {
  exporter.reset();
  served = await startObserved({
    program: 'global-topo',
    cell: 'global',
    root: '/topo/global',
    tracerProvider: provider,
    services: (store, tracker, observability) => globalTopoServices(store, tracker, observability),
  });
  client = new GlobalTopoServiceClient(served.address, credentials.createInsecure());
});
afterEach(async () => {
  client.close();
  await served.stop();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('tracing', () => {
  it("continues the caller's W3C trace: one server span per RPC, store spans as its children", async () => {
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${TRACE_ID}-${CALLER_SPAN}-01`);
    await new Promise<void>((resolve, reject) =>
      client.createKeyspace({ name: 'commerce', keyspace: undefined }, metadata, (err) => (err ? reject(err) : resolve())),
    );
    const spans = exporter.getFinishedSpans();
    const server = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => s.name)).toEqual(['topo.global.v1.GlobalTopoService/CreateKeyspace']);
    const rpc = server[0]!;
    expect(rpc.spanContext().traceId).toBe(TRACE_ID);
    expect(rpc.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(rpc.attributes['rpc.grpc.status_code']).toBe(status.OK);
    const store = spans.filter((s) => /^topo\.[A-Za-z]+$/.test(s.name));
    expect(store.length).toBeGreaterThan(0);
    for (const span of store) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(rpc.spanContext().spanId);
    }
    expect(store.map((s) => s.attributes['topo.path'])).toContain('keyspaces/commerce/Keyspace');
    // Each store operation's backend requests are its children.
    const backend = spans.filter((s) => s.name.startsWith('memory.'));
    expect(backend.map((s) => s.name)).toContain('memory.Txn');
    const storeIds = new Set(store.map((s) => s.spanContext().spanId));
    for (const span of backend) expect(storeIds.has(span.parentSpanContext?.spanId ?? '')).toBe(true);
  });

  it('starts a new trace without a traceparent and marks NOT_FOUND as an answer, not an error', async () => {
    expect(await codeOf(call(client.getKeyspace.bind(client), { name: 'missing' }))).toBe(status.NOT_FOUND);
    const [rpc] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(rpc?.parentSpanContext).toBeUndefined();
    expect(rpc?.attributes['rpc.grpc.status_code']).toBe(status.NOT_FOUND);
    expect(rpc?.status.code).toBe(0);
    const get = exporter.getFinishedSpans().find((s) => s.name === 'topo.Get');
    expect(get?.attributes['topo.error']).toBe('NoNode');
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it("carries the SDK caller's active span to the server in the call's metadata", async () => {
    const sdk = globalTopoClient(served.address);
    const caller = provider.getTracer('test').startSpan('router.refresh');
    await context.with(trace.setSpan(context.active(), caller), () => sdk.listKeyspaces({}));
    caller.end();
    sdk.close();
    const [rpc] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(rpc?.name).toBe('topo.global.v1.GlobalTopoService/ListKeyspaces');
    expect(rpc?.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(rpc?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
  });

  it('installs no SDK unless the standard OpenTelemetry environment asks for one', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });
});
