import type { KvEngine } from './engine';
import { TopoError, TopoErrorCode } from './errors';
import { TopoStore, type TopoStoreOptions } from './core/topo-store';
import type { Store } from './store';

export interface StoreConfig extends TopoStoreOptions {
  /** Plugin name: 'etcd' (default) or 'memory'. */
  backend?: string;
  /** Backend addresses; for etcd, the client URLs of the cluster. */
  endpoints?: string[];
  /** Deadline of each backend request. */
  requestTimeoutMs?: number;
  /** TLS to the backend: PEM file paths of the client certificate, its key and the backend's CA. */
  tls?: { cert?: string; key?: string; ca?: string };
  /** User/password authentication to the backend. */
  auth?: { username: string; password: string };
  /** Wraps the plugin's engine once, to see every backend request (tracing). */
  wrapEngine?: (engine: KvEngine) => KvEngine;
}

export type EngineFactory = (config: StoreConfig) => KvEngine;

const factories = new Map<string, EngineFactory>();

/** Plugins register themselves by name, as Vitess's topo.RegisterFactory does. */
export function registerEngine(name: string, factory: EngineFactory): void {
  if (factories.has(name)) throw new Error(`store plugin ${name} is already registered`);
  factories.set(name, factory);
}

export function registeredEngines(): string[] {
  return [...factories.keys()].sort();
}

export function openStore(config: StoreConfig): Store {
  const backend = config.backend ?? 'etcd';
  const factory = factories.get(backend);
  if (!factory) {
    throw new TopoError(
      TopoErrorCode.NoImplementation,
      `no store plugin named ${JSON.stringify(backend)}; known: ${registeredEngines().join(', ')}`,
    );
  }
  const engine = factory(config);
  return new TopoStore(config.wrapEngine ? config.wrapEngine(engine) : engine, config);
}
