import { MAX_VALUE_BYTES, TopoErrorCode } from '../store';
import { Keyspaces } from './keyspace';
import { Locks } from './locks';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';
import { VSchemas } from './vschema';

const store = useMemoryStore();
const vschemas = (): VSchemas => new VSchemas(store());

/**
 * A binary vschema.Keyspace (sharded) carrying a field our proto copy does not know (100,
 * length-delimited) whose bytes no text codec would round-trip: NUL, invalid UTF-8, every
 * byte value. Stored and returned byte for byte, unknown field included.
 */
const payload = [0x00, 0xff, 0xfe, 0xc3, 0x28, ...Array.from({ length: 256 }, (_, i) => i), 0x00];
const awkward = Uint8Array.from([0x08, 0x01, 0xa2, 0x06, 0x86, 0x02, ...payload]);
/** Small valid vschema.Keyspace messages: sharded, require_explicit_routing, foreign_key_mode. */
const v1 = Uint8Array.of(0x08, 1);
const v2 = Uint8Array.of(0x20, 1);
const v3 = Uint8Array.of(0x28, 1);

beforeEach(async () => {
  await new Keyspaces(store()).create('ks');
});

describe('VSchemas', () => {
  it('returns the vschema byte for byte with the version the save returned', async () => {
    const version = await vschemas().save('ks', awkward);
    const read = await vschemas().get('ks');
    expect(read.version).toBe(version);
    expect(Buffer.from(read.vschema).equals(Buffer.from(awkward))).toBe(true);
    expect(Buffer.from((await store().get('keyspaces/ks/VSchema')).contents).equals(Buffer.from(awkward))).toBe(true);
  });

  it('keeps an empty vschema as an empty value', async () => {
    await vschemas().save('ks', new Uint8Array(0));
    expect((await vschemas().get('ks')).vschema.byteLength).toBe(0);
  });

  it('saves with compare-and-swap when a version is given', async () => {
    const first = await vschemas().save('ks', v1);
    const second = await vschemas().save('ks', v2, { version: first });
    await expectRefused(store(), () => vschemas().save('ks', v3, { version: first }), TopoErrorCode.BadVersion);
    expect((await vschemas().get('ks')).version).toBe(second);
  });

  it('refuses a JSON vschema (Vitess stores vschema.Keyspace in binary) without writing', async () => {
    const err = await expectRefused(store(), () => vschemas().save('ks', Buffer.from('{"sharded":true}')), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('vschema: is not a binary vschema.Keyspace protobuf');
  });

  it('refuses a vschema for a missing keyspace', async () => {
    const err = await expectRefused(store(), () => vschemas().save('nope', v1), TopoErrorCode.NoNode);
    expect(err.message).toContain(`keyspace "nope" doesn't exist`);
  });

  it('refuses a vschema larger than a store value, naming the field', async () => {
    const err = await expectRefused(
      store(),
      () => vschemas().save('ks', new Uint8Array(MAX_VALUE_BYTES + 1)),
      TopoErrorCode.InvalidArgument,
    );
    expect(err.message).toContain('vschema: ');
  });

  it('refuses a fenced save after the lock is lost', async () => {
    const lock = await new Locks(store()).lockKeyspace('ks', 'ApplyVSchema');
    await store().revokeLease(lock.leaseId);
    await expectRefused(store(), () => vschemas().save('ks', v1, { fence: lock.fence }), TopoErrorCode.LockLost);
  });

  it('reports NoNode for a keyspace without a vschema, and deletes one', async () => {
    await expectRefused(store(), () => vschemas().get('ks'), TopoErrorCode.NoNode);
    const version = await vschemas().save('ks', v1);
    await expectRefused(store(), () => vschemas().delete('ks', { version: version - 1n }), TopoErrorCode.BadVersion);
    await vschemas().delete('ks', { version });
    await expectRefused(store(), () => vschemas().get('ks'), TopoErrorCode.NoNode);
  });
});
