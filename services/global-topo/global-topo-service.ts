import { GlobalTopoServiceService } from '../../libs/proto/gen/topo/global/v1/global';
import type { CallTracker, ServiceRegistration } from '../../libs/server';
import type { GlobalTopology } from '../../libs/topo';
import { electionHandlers } from './election-handlers';
import { lockHandlers } from './lock-handlers';
import { rebuildHandlers } from './rebuild-handlers';
import { recordHandlers } from './record-handlers';

export const GLOBAL_TOPO_SERVICE_NAME = 'topo.global.v1.GlobalTopoService';

export function globalTopoService(topo: GlobalTopology, tracker: CallTracker): ServiceRegistration {
  return {
    name: GLOBAL_TOPO_SERVICE_NAME,
    definition: GlobalTopoServiceService,
    implementation: {
      ...recordHandlers(topo, tracker),
      ...lockHandlers(topo, tracker),
      ...rebuildHandlers(topo, tracker),
      ...electionHandlers(topo.store, tracker),
    },
  };
}
