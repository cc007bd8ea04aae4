import { CellTopoServiceService } from '../../libs/proto/gen/topo/cell/v1/cell';
import type { GlobalView } from '../../libs/client/global-view';
import type { CallTracker, ServiceRegistration } from '../../libs/server';
import type { CellTopology } from '../../libs/topo';
import type { WatchHub } from '../../libs/watch';
import { registrationHandlers } from './registration-handlers';
import { servingHandlers } from './serving-handlers';
import { tabletHandlers } from './tablet-handlers';
import { watchHandlers } from './watch-handlers';

export const CELL_TOPO_SERVICE_NAME = 'topo.cell.v1.CellTopoService';

export function cellTopoService(topo: CellTopology, view: GlobalView, hub: WatchHub, tracker: CallTracker): ServiceRegistration {
  return {
    name: CELL_TOPO_SERVICE_NAME,
    definition: CellTopoServiceService,
    implementation: {
      ...tabletHandlers(topo, view, tracker),
      ...registrationHandlers(topo, view, tracker),
      ...servingHandlers(topo, tracker),
      ...watchHandlers(hub, tracker),
    },
  };
}
