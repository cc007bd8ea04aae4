import { status } from '@grpc/grpc-js';
import type { GlobalView } from '../../libs/client/global-view';
import type { Tablet } from '../../libs/proto';
import { StatusError } from '../../libs/server';
import { validateTablet } from '../../libs/topo';

/**
 * A tablet's keyspace and shard must exist in the global topology. The answer comes from
 * the watched local copy, so it keeps working while global-topo is down.
 */
export function checkTabletInGlobal(view: GlobalView, tablet: Tablet | undefined): void {
  if (!tablet) return;
  // Bad input is INVALID_ARGUMENT whatever the global topology holds.
  const { keyspace, shard } = validateTablet(tablet, 'tablet');
  if (!view.isSynced) {
    throw new StatusError(status.UNAVAILABLE, 'the global topology is not known yet: global-topo has not answered');
  }
  if (!view.hasKeyspace(keyspace)) {
    throw new StatusError(status.FAILED_PRECONDITION, `tablet.keyspace: keyspace ${JSON.stringify(keyspace)} does not exist in the global topology`);
  }
  if (!view.hasShard(keyspace, shard)) {
    throw new StatusError(
      status.FAILED_PRECONDITION,
      `tablet.shard: shard ${JSON.stringify(`${keyspace}/${shard}`)} does not exist in the global topology`,
    );
  }
}
