/**
 * A client process holding many streams open, to be SIGKILLed: the abrupt way clients go.
 * Args: <global address> <cell address> <watch-tablets count> <path-watch count> <lock count>.
 * Prints "open" once every stream is under way.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { CellTopoServiceClient } from '../../libs/proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceClient, LockKind } from '../../libs/proto/gen/topo/global/v1/global';
import { PathServiceClient } from '../../libs/proto/gen/topo/path/v1/path';

const [globalAddress, cellAddress, tabletWatches, pathWatches, locks] = process.argv.slice(2);
// Several connections, as many clients would have.
const channels = 8;
const cells = Array.from({ length: channels }, () => new CellTopoServiceClient(cellAddress, credentials.createInsecure()));
const paths = Array.from({ length: channels }, () => new PathServiceClient(globalAddress, credentials.createInsecure()));
const globals = Array.from({ length: channels }, () => new GlobalTopoServiceClient(globalAddress, credentials.createInsecure()));
let firstMessages = 0;
const expected = Number(tabletWatches) + Number(pathWatches);
const opened = (): void => {
  if (++firstMessages === expected) console.log('open');
};
for (let i = 0; i < Number(tabletWatches); i++) {
  const stream = cells[i % channels].watchTablets({ keyspace: '', shard: '', tabletTypes: [], fromRevision: '0' }, new Metadata());
  stream.once('data', opened);
  stream.on('error', () => undefined);
}
for (let i = 0; i < Number(pathWatches); i++) {
  const stream = paths[i % channels].watch({ path: 'keyspaces/drill/Keyspace' }, new Metadata());
  stream.once('data', opened);
  stream.on('error', () => undefined);
}
for (let i = 0; i < Number(locks); i++) {
  const stream = globals[i % channels].lock(
    { target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'drill', shard: '', name: '', path: '' }, holder: `drill-${i}`, action: 'drill', tryOnly: false },
    new Metadata(),
  );
  stream.on('error', () => undefined);
}
if (expected === 0) console.log('open');
// Gone with the drill that started it, however that ended.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
