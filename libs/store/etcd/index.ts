export { EtcdEngine, DEFAULT_REQUEST_TIMEOUT_MS } from './etcd-engine';
export type { EtcdEngineOptions } from './etcd-engine';
