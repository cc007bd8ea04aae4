/**
 * A tablet in its own process, kept registered by the SDK's TabletAgent, so tests can
 * SIGKILL it as a crashing tablet would die. Prints one JSON line per agent event.
 *   node tablet-process.fixture.ts <cell-topo address> <cell> <uid> <keyspace> <shard> <ttl seconds>
 */
import { TabletAgent } from '../../libs/client';
import { Tablet, TabletType } from '../../libs/proto';

const [address, cell, uid, keyspace, shard, ttl] = process.argv.slice(2);
const agent = new TabletAgent({
  address,
  ttlSeconds: Number(ttl),
  tablet: Tablet.fromPartial({ alias: { cell, uid: Number(uid) }, hostname: 'localhost', keyspace, shard, type: TabletType.REPLICA }),
  minBackoffMs: 50,
  maxBackoffMs: 500,
});
agent.on('event', (event) => console.log(JSON.stringify(event)));
agent.start().catch((err: Error) => {
  console.log(JSON.stringify({ type: 'failed', error: err.message }));
  process.exit(1);
});
process.on('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
