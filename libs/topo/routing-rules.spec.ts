import { MAX_VALUE_BYTES, TopoErrorCode } from '../store';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';
import { RoutingRules } from './routing-rules';

const store = useMemoryStore();
const rules = (): RoutingRules => new RoutingRules(store());

describe('RoutingRules', () => {
  it('returns the rules byte for byte from the RoutingRules file', async () => {
    // One rule (from_table "t") and an unknown field 2 holding bytes no text codec round-trips.
    const bytes = Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x74, 0x12, 0x03, 0xff, 0x80, 0x7f]);
    const version = await rules().save(bytes);
    const read = await rules().get();
    expect(read.version).toBe(version);
    expect([...read.routingRules]).toEqual([...bytes]);
    expect((await store().list('')).map((kv) => kv.path)).toEqual(['RoutingRules']);
  });

  it('reports NoNode when none were saved', async () => {
    const err = await expectRefused(store(), () => rules().get(), TopoErrorCode.NoNode);
    expect(err.message).toContain(`RoutingRules doesn't exist`);
  });

  it('saves with compare-and-swap when a version is given, and deletes', async () => {
    const first = await rules().save(Uint8Array.of(0x0a, 0));
    await rules().save(Uint8Array.of(0x0a, 2, 0x0a, 0), { version: first });
    await expectRefused(store(), () => rules().save(Uint8Array.of(0x0a, 3, 0x12, 1, 0x61), { version: first }), TopoErrorCode.BadVersion);
    await rules().delete();
    await expectRefused(store(), () => rules().delete(), TopoErrorCode.NoNode);
  });

  it('refuses rules larger than a store value', async () => {
    const err = await expectRefused(store(), () => rules().save(new Uint8Array(MAX_VALUE_BYTES + 1)), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('routing_rules: ');
  });
});
