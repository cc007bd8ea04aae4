import { context, propagation, trace, type TracerProvider as ApiTracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, TracerProvider, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';

export interface TracingSdk {
  provider: ApiTracerProvider;
  shutdown(): Promise<void>;
}

/**
 * Installs the OpenTelemetry SDK globally: W3C trace context and baggage propagation,
 * AsyncLocalStorage context, and the exporter OTEL_TRACES_EXPORTER names (otlp, the
 * default, over HTTP/protobuf to OTEL_EXPORTER_OTLP_ENDPOINT; or console). The exporter
 * reads the rest of the standard OTEL_* variables itself.
 */
export function startTracingSdk(serviceName: string, version: string, env: NodeJS.ProcessEnv, processors: SpanProcessor[] = []): TracingSdk {
  const exporters = (env.OTEL_TRACES_EXPORTER?.trim() || 'otlp').split(',').map((e) => e.trim()).filter((e) => e && e !== 'none');
  const spanProcessors = [
    ...processors,
    ...exporters.map((name) => new BatchSpanProcessor({ exporter: exporterNamed(name) })),
  ];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName, 'service.version': version }),
    spanProcessors,
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    provider,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

function exporterNamed(name: string): SpanExporter {
  switch (name) {
    case 'otlp':
      return new OTLPTraceExporter();
    case 'console':
      return new ConsoleSpanExporter();
    default:
      throw new Error(`OTEL_TRACES_EXPORTER ${JSON.stringify(name)} is not supported: use otlp, console or none`);
  }
}
