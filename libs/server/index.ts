export { parseConfig, usage, ConfigError, type ServerConfig, type ConfigDefaults } from './config';
export { StatusError, invalidArgument, toServiceError, grpcCodeOf } from './errors';
export { unary, serverStream, bidiStream, writeWithBackpressure, type CallTracker, type HandlerContext, type StreamWriter } from './handlers';
export { Logger, errorFields, type LogLevel, type LogFields } from './logger';
export { pathService, PATH_SERVICE_NAME } from './path-service';
export { TopoServer, type ServiceRegistration, type TopoServerOptions } from './topo-server';
export { optionalVersion, requireRevision, wireVersion } from './versions';
export { runService } from './run-service';
