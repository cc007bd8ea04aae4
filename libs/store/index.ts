import './plugins';

export * from './store';
export * from './errors';
export type { KvEngine } from './engine';
export { openStore, registerEngine, registeredEngines } from './registry';
export type { StoreConfig, EngineFactory } from './registry';
export { TopoStore, DEFAULT_LOCK_TTL_SECONDS, DEFAULT_NAMED_LOCK_TTL_SECONDS } from './core/topo-store';
export { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, MAX_VALUE_BYTES, checkDirPath, fromVitessPath, fromVitessPrefix } from './paths';
export { ELECTIONS_DIR } from './core/election';
export { interceptStore, type StoreInterceptor, type StoreInterceptors, type StoreCall, type StoreOperation, type ParticipationObserver } from './intercepted-store';
