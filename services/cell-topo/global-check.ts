import { status } from '@grpc/grpc-js';
import type { GlobalView } from '../../libs/client/global-view';
import type { Tablet } from '../../libs/proto';
import { StatusError } from '../../libs/server';
import { validateShardName, validateTablet } from '../../libs/topo';

/**
 * A tablet's keyspace and shard must exist in the global topology. The answer comes from
 * the watched local copy, so it keeps working while global-topo is down.
 */
export function checkTabletInGlobal(view: GlobalView, tablet: Tablet | undefined): void {
  if (!tablet) return;
  // Bad input is INVALID_ARGUMENT whatever the global topology holds.
  validateTablet(tablet, 'tablet');
  if (!view.isSynced) {
    throw new StatusError(status.UNAVAILABLE, 'the global topology is not known yet: global-topo has not answered');
  }
  const shard = validateShardName(tablet.shard, 'tablet.shard');
  if (!view.hasKeyspace(tablet.keyspace)) {
    throw new StatusError(status.FAILED_PRECONDITION, `tablet.keyspace: keyspace ${JSON.stringify(tablet.keyspace)} does not exist in the global topology`);
  }
  if (!view.hasShard(tablet.keyspace, shard)) {
    throw new StatusError(
      status.FAILED_PRECONDITION,
      `tablet.shard: shard ${JSON.stringify(`${tablet.keyspace}/${shard}`)} does not exist in the global topology`,
    );
  }
}
