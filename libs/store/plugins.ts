import { EtcdEngine } from './etcd';
import { TopoError, TopoErrorCode } from './errors';
import { MemoryEngine } from './memory';
import { registerEngine } from './registry';

registerEngine('etcd', (config) => {
  if (!config.endpoints || config.endpoints.length === 0) {
    throw new TopoError(TopoErrorCode.InvalidArgument, 'the etcd store needs at least one endpoint');
  }
  return new EtcdEngine({ endpoints: config.endpoints, requestTimeoutMs: config.requestTimeoutMs, tls: config.tls, auth: config.auth });
});

// One memory engine per store: each openStore gets its own in-process topology.
registerEngine('memory', () => new MemoryEngine());
