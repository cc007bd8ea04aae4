import { describeStoreConformance } from '../conformance';
import { TopoStore } from '../core/topo-store';
import { MemoryEngine } from './memory-engine';

describeStoreConformance('memory', {
  async newStore(options) {
    const engine = new MemoryEngine();
    return { store: new TopoStore(engine, { root: '/conformance', ...options }), engine };
  },
});
