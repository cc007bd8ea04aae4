import { Keyspace, KeyspaceType } from '../proto';
import { TopoErrorCode, type Store } from '../store';
import { Keyspaces } from './keyspace';
import { Locks } from './locks';
import { keyspacePath, vschemaPath } from './paths';
import { expectRefused, snapshot, useMemoryStore } from './private/memory-store.fixture';
import { Shards } from './shard';
import { VSchemas } from './vschema';

const store = useMemoryStore();

/** A store whose first update is preceded by another writer's upsert of the same file. */
function racingStore(inner: Store, otherContents: Uint8Array): Store {
  let raced = false;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== 'update') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<Store['update']>) => {
        if (!raced) {
          raced = true;
          await target.update(args[0], otherContents, null);
        }
        return target.update(...args);
      };
    },
  });
}
const keyspaces = (): Keyspaces => new Keyspaces(store());
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('Keyspaces', () => {
  it('creates a keyspace and reads it back with the version the write returned', async () => {
    const value: Keyspace = { ...Keyspace.create(), durabilityPolicy: 'semi_sync', sidecarDbName: '_vt' };
    const version = await keyspaces().create('commerce', value);
    const read = await keyspaces().get('commerce');
    expect(read.version).toBe(version);
    expect(read.keyspace).toEqual(value);
  });

  it("gives an empty durability policy and sidecar database vtctld's defaults, none and _vt", async () => {
    await keyspaces().create('commerce');
    const read = await keyspaces().get('commerce');
    expect(read.keyspace).toMatchObject({ durabilityPolicy: 'none', sidecarDbName: '_vt' });
    await keyspaces().create('customer', { ...Keyspace.create(), durabilityPolicy: 'semi_sync', sidecarDbName: '_vt_alt' });
    expect((await keyspaces().get('customer')).keyspace).toMatchObject({ durabilityPolicy: 'semi_sync', sidecarDbName: '_vt_alt' });
  });

  it('stores the Keyspace proto encoding at keyspaces/<ks>/Keyspace', async () => {
    const value: Keyspace = { ...Keyspace.create(), durabilityPolicy: 'none', sidecarDbName: '_vt' };
    await keyspaces().create('commerce', value);
    const stored = await store().get('keyspaces/commerce/Keyspace');
    expect(Buffer.from(stored.contents)).toEqual(Buffer.from(Keyspace.encode(value).finish()));
  });

  it('refuses to create a keyspace that exists, leaving it as it was', async () => {
    await keyspaces().create('commerce');
    const err = await expectRefused(store(), () => keyspaces().create('commerce'), TopoErrorCode.NodeExists);
    expect(err.message).toContain('keyspace "commerce" already exists');
  });

  it.each(['', 'a/b', '..', 'a\u0000', 'k'.repeat(65), 'ké'])('refuses the keyspace name %j without writing', async (name) => {
    await expectRefused(store(), () => keyspaces().create(name), TopoErrorCode.InvalidArgument);
  });

  it('refuses an unknown keyspace type without writing', async () => {
    const err = await expectRefused(
      store(),
      () => keyspaces().create('commerce', { ...Keyspace.create(), keyspaceType: 7 as KeyspaceType }),
      TopoErrorCode.InvalidArgument,
    );
    expect(err.message).toContain('keyspace.keyspace_type: 7');
  });

  it('reports a missing keyspace as NoNode naming it', async () => {
    const err = await expectRefused(store(), () => keyspaces().get('nope'), TopoErrorCode.NoNode);
    expect(err.message).toContain(`keyspace "nope" doesn't exist`);
  });

  it('lists keyspace names sorted, and nothing when there are none', async () => {
    expect(await keyspaces().list()).toEqual([]);
    for (const name of ['customer', 'Commerce', 'analytics']) await keyspaces().create(name);
    expect(await keyspaces().list()).toEqual(['Commerce', 'analytics', 'customer']);
  });

  it('does not list a directory left without its Keyspace record', async () => {
    await keyspaces().create('gone');
    const lock = await new Locks(store()).lockKeyspace('gone', 'test');
    await keyspaces().delete('gone', { fence: lock.fence });
    expect((await store().listDir('keyspaces')).map((entry) => entry.name)).toEqual(['gone']);
    expect(await keyspaces().list()).toEqual([]);
    await lock.unlock();
  });

  describe('update', () => {
    it('writes when the version matches and returns the new version', async () => {
      const created = await keyspaces().create('commerce');
      const updated = await keyspaces().update('commerce', { ...Keyspace.create(), durabilityPolicy: 'semi_sync' }, created);
      expect(updated).toBeGreaterThan(created);
      expect((await keyspaces().get('commerce')).keyspace.durabilityPolicy).toBe('semi_sync');
    });

    it('refuses a stale version with BadVersion, leaving the keyspace as it was', async () => {
      const first = await keyspaces().create('commerce');
      await keyspaces().update('commerce', { ...Keyspace.create(), durabilityPolicy: 'a' }, first);
      await expectRefused(
        store(),
        () => keyspaces().update('commerce', { ...Keyspace.create(), durabilityPolicy: 'b' }, first),
        TopoErrorCode.BadVersion,
      );
    });

    it('refuses to update a missing keyspace with NoNode rather than creating it', async () => {
      await expectRefused(store(), () => keyspaces().update('nope', Keyspace.create(), 1n), TopoErrorCode.NoNode);
    });

    it('refuses a fenced update once the lock is lost, with LockLost', async () => {
      const created = await keyspaces().create('commerce');
      const lock = await new Locks(store()).lockKeyspace('commerce', 'test');
      await store().revokeLease(lock.leaseId);
      await expectRefused(
        store(),
        () => keyspaces().update('commerce', { ...Keyspace.create(), durabilityPolicy: 'x' }, created, { fence: lock.fence }),
        TopoErrorCode.LockLost,
      );
    });
  });

  describe('updateFields', () => {
    it('re-reads and re-applies the change when another writer got there first', async () => {
      await keyspaces().create('commerce');
      const racing = racingStore(store(), Keyspace.encode({ ...Keyspace.create(), sidecarDbName: '_other' }).finish());
      let calls = 0;
      const result = await new Keyspaces(racing).updateFields('commerce', (keyspace) => {
        calls++;
        keyspace.durabilityPolicy = 'semi_sync';
      });
      expect(calls).toBe(2);
      expect(result.keyspace).toMatchObject({ durabilityPolicy: 'semi_sync', sidecarDbName: '_other' });
      expect(await keyspaces().get('commerce')).toEqual({ keyspace: result.keyspace, version: result.version });
    });

    it('writes nothing when the change returns false', async () => {
      const created = await keyspaces().create('commerce');
      const result = await keyspaces().updateFields('commerce', () => false);
      expect(result.version).toBe(created);
      expect((await keyspaces().get('commerce')).version).toBe(created);
    });

    it('does not retry when the version is pinned', async () => {
      const first = await keyspaces().create('commerce');
      await keyspaces().update('commerce', { ...Keyspace.create(), durabilityPolicy: 'a' }, first);
      let calls = 0;
      await expectRefused(
        store(),
        () => keyspaces().updateFields('commerce', () => void calls++, { version: first }),
        TopoErrorCode.BadVersion,
      );
      expect(calls).toBe(0);
    });
  });

  describe('delete', () => {
    it('deletes a keyspace and its vschema when it has no shards', async () => {
      await keyspaces().create('commerce');
      await new VSchemas(store()).save('commerce', Uint8Array.of(0x08, 1));
      await keyspaces().delete('commerce');
      expect(await snapshot(store())).toEqual([]);
    });

    it('refuses while shards exist, naming them, and changes nothing', async () => {
      await keyspaces().create('commerce');
      await new VSchemas(store()).save('commerce', Uint8Array.of(0x08, 1));
      const shards = new Shards(store());
      await shards.create('commerce', '-80');
      await shards.create('commerce', '80-');
      const err = await expectRefused(store(), () => keyspaces().delete('commerce'), TopoErrorCode.NodeNotEmpty);
      expect(err.message).toContain('still has shards -80, 80-');
    });

    it('deletes shards, vschema and everything else under keyspaces/<ks>/ when recursive', async () => {
      await keyspaces().create('commerce');
      await keyspaces().create('commerce2');
      await new VSchemas(store()).save('commerce', Uint8Array.of(0x08, 1));
      const shards = new Shards(store());
      await shards.create('commerce', '-80');
      await shards.create('commerce', '80-');
      await shards.create('commerce2', '0');
      await store().create('keyspaces/commerce/extra/file', text('x'));
      await keyspaces().delete('commerce', { recursive: true });
      expect((await store().list('')).map((kv) => kv.path)).toEqual([
        'keyspaces/commerce2/Keyspace',
        'keyspaces/commerce2/shards/0/Shard',
      ]);
    });

    it('leaves lock keys to their holders in a recursive delete, and writes under the fence', async () => {
      await keyspaces().create('commerce');
      await new Shards(store()).create('commerce', '0');
      const locks = new Locks(store());
      const lock = await locks.lockKeyspace('commerce', 'DeleteKeyspace');
      await keyspaces().delete('commerce', { recursive: true, fence: lock.fence });
      expect((await store().list('')).map((kv) => kv.path)).toEqual([lock.path]);
      await lock.unlock();
      expect(await snapshot(store())).toEqual([]);
    });

    it('refuses a recursive delete under a lost lock before deleting anything', async () => {
      await keyspaces().create('commerce');
      await new Shards(store()).create('commerce', '0');
      const lock = await new Locks(store()).lockKeyspace('commerce', 'DeleteKeyspace');
      await store().revokeLease(lock.leaseId);
      await expectRefused(
        store(),
        () => keyspaces().delete('commerce', { recursive: true, fence: lock.fence }),
        TopoErrorCode.LockLost,
      );
    });

    it('reports NoNode for a missing keyspace and leaves files under its directory alone', async () => {
      await store().create('keyspaces/ghost/VSchema', text('{}'));
      await expectRefused(store(), () => keyspaces().delete('ghost', { recursive: true }), TopoErrorCode.NoNode);
    });

    it('builds its paths from the one path builder', async () => {
      await keyspaces().create('commerce');
      await new VSchemas(store()).save('commerce', Uint8Array.of(0x08, 1));
      expect((await store().list('')).map((kv) => kv.path)).toEqual([keyspacePath('commerce'), vschemaPath('commerce')]);
    });
  });
});
