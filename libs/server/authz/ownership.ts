import type { Store } from '../../store';
import { TopoError, TopoErrorCode } from '../../store';
import { Locks, parseAliveMarker, tabletAlivePath } from '../../topo';
import type { OwnershipLookups } from './authorizer';

/** Ownership read from the store the service fronts: Alive keys and lock holders. */
export function storeLookups(store: Store): OwnershipLookups {
  const locks = new Locks(store);
  return {
    async registration(alias) {
      try {
        const marker = parseAliveMarker((await store.get(tabletAlivePath(alias))).contents);
        return marker && { session: marker.session, leaseId: marker.leaseId, identity: marker.identity };
      } catch (err) {
        if (TopoError.is(err, TopoErrorCode.NoNode)) return undefined;
        throw err;
      }
    },
    lockHolder: (lockId) => locks.holderIdentity(lockId),
  };
}
