export { parseConfig, usage, ConfigError, type ServerConfig, type ConfigDefaults } from './config';
export { StatusError, invalidArgument, toServiceError, grpcCodeOf } from './errors';
export {
  unary,
  serverStream,
  bidiStream,
  pushStream,
  writeWithBackpressure,
  type CallTracker,
  type HandlerContext,
  type PushStream,
  type StreamWriter,
} from './handlers';
export { grpcFrame, grpcInternals, acceptFramed, FramedWriter } from './grpc-frames';
export { backendStatusOf, relayHub } from './hub-stream';
export { MAX_CHANGES_BYTES, packSnapshot, packTransactions, repeatedEntry, type EncodedTransaction, type PackedMessage } from './message-packing';
export { serviceWatchHub } from './service-hub';
export { Logger, errorFields, type LogLevel, type LogFields } from './logger';
export { pathService, PATH_SERVICE_NAME } from './path-service';
export { TopoServer, type ServiceRegistration, type TopoServerOptions } from './topo-server';
export { optionalVersion, requireRevision, wireVersion } from './versions';
export { runService } from './run-service';
export { parseWorkers } from './workers';
export { reportSkipped } from './skipped-records';
export { Observability, type ObservabilityOptions, type StatusSource } from './observability';
export type { StatusTable, StatusReport, StatusCell } from './http/status-page';
export { formatAge } from './http/status-page';
