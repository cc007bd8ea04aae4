import { Shard, TabletType } from '../proto';
import { TopoErrorCode } from '../store';
import { keyRangeString } from './key-range';
import { Keyspaces } from './keyspace';
import { Locks } from './locks';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';
import { Shards } from './shard';

const store = useMemoryStore();
const shards = (): Shards => new Shards(store());
const locks = (): Locks => new Locks(store());

beforeEach(async () => {
  await new Keyspaces(store()).create('ks');
});

describe('Shards.create', () => {
  it('derives the key range from the name', async () => {
    const created = await shards().create('ks', '-80');
    expect(keyRangeString(created.shard.keyRange)).toBe('-80');
    expect([...created.shard.keyRange!.end]).toEqual([0x80]);
    const read = await shards().get('ks', '-80');
    expect(read).toEqual({ name: '-80', shard: created.shard, version: created.version });
  });

  it.each(['0', '-'])('leaves the key range unset for the full-range shard %j', async (name) => {
    const created = await shards().create('ks', name);
    expect(created.shard.keyRange).toBeUndefined();
    expect(created.shard.isPrimaryServing).toBe(true);
  });

  it('serves the primary only when the range overlaps no existing shard', async () => {
    expect((await shards().create('ks', '-80')).shard.isPrimaryServing).toBe(true);
    expect((await shards().create('ks', '80-')).shard.isPrimaryServing).toBe(true);
    expect((await shards().create('ks', '40-c0')).shard.isPrimaryServing).toBe(false);
    expect((await shards().create('ks', '-')).shard.isPrimaryServing).toBe(false);
  });

  it("serves every custom-named shard, as Vitess's custom sharding does", async () => {
    const x1 = await shards().create('ks', 'x1');
    expect(x1).toMatchObject({ name: 'x1', shard: { isPrimaryServing: true } });
    expect(x1.shard.keyRange).toBeUndefined();
    expect((await shards().create('ks', 'x2')).shard.isPrimaryServing).toBe(true);
    expect(await shards().list('ks')).toEqual(['x1', 'x2']);
  });

  it('treats an existing full-range shard as overlapping everything', async () => {
    await shards().create('ks', '0');
    expect((await shards().create('ks', 'c0-')).shard.isPrimaryServing).toBe(false);
  });

  it('decides serving under the keyspace lock, so of two overlapping concurrent creates only one serves', async () => {
    const [a, b] = await Promise.all([shards().create('ks', '-80'), shards().create('ks', '-')]);
    expect([a.shard.isPrimaryServing, b.shard.isPrimaryServing].sort()).toEqual([false, true]);
    expect(await locks().keyspaceLocks('ks')).toEqual([]);
  });

  it('normalises an uppercase name, so 80-C0 and 80-c0 are one shard', async () => {
    expect((await shards().create('ks', '80-C0')).name).toBe('80-c0');
    await expectRefused(store(), () => shards().create('ks', '80-c0'), TopoErrorCode.NodeExists);
    expect((await shards().get('ks', '80-C0')).name).toBe('80-c0');
  });

  it('refuses a shard that exists', async () => {
    await shards().create('ks', '-80');
    const err = await expectRefused(store(), () => shards().create('ks', '-80'), TopoErrorCode.NodeExists);
    expect(err.message).toContain('shard "ks/-80" already exists');
  });

  it('refuses a shard of a missing keyspace with NoNode', async () => {
    const err = await expectRefused(store(), () => shards().create('nope', '-80'), TopoErrorCode.NoNode);
    expect(err.message).toContain(`keyspace "nope" doesn't exist`);
  });

  it.each(['', '/', '..', 'a/b', '80-40', '80-80', '8-', '-40-80', 'x0-', '\u0000', 'é-'])(
    'refuses the shard name %j without writing',
    async (name) => {
      await expectRefused(store(), () => shards().create('ks', name), TopoErrorCode.InvalidArgument);
    },
  );

  it('creates under a keyspace lock the caller holds, without waiting for it', async () => {
    const lock = await locks().lockKeyspace('ks', 'Reshard');
    const created = await shards().create('ks', '-80', { fence: lock.fence });
    expect(created.shard.isPrimaryServing).toBe(true);
    await lock.unlock();
  });

  it("refuses a fence that is not this keyspace's lock", async () => {
    await new Keyspaces(store()).create('other');
    const lock = await locks().lockKeyspace('other', 'test');
    const err = await expectRefused(store(), () => shards().create('ks', '-80', { fence: lock.fence }), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('fence: ');
    await lock.unlock();
  });

  it('refuses to create under a keyspace lock that was lost', async () => {
    const lock = await locks().lockKeyspace('ks', 'Reshard');
    await store().revokeLease(lock.leaseId);
    await expectRefused(store(), () => shards().create('ks', '-80', { fence: lock.fence }), TopoErrorCode.LockLost);
  });
});

describe('Shards.list', () => {
  it('lists shard names in key order', async () => {
    for (const name of ['80-', 'c0-', '-40', '40-80']) await shards().create('ks', name);
    expect(await shards().list('ks')).toEqual(['-40', '40-80', '80-', 'c0-']);
  });

  it('does not list a shard directory that holds only a lock', async () => {
    await shards().create('ks', '-80');
    const lock = await locks().lockShard('ks', '-80', 'test');
    await shards().delete('ks', '-80', { fence: lock.fence });
    expect(await shards().list('ks')).toEqual([]);
    await lock.unlock();
  });

  it('is empty for a keyspace without shards and NoNode for a missing keyspace', async () => {
    expect(await shards().list('ks')).toEqual([]);
    await expectRefused(store(), () => shards().list('nope'), TopoErrorCode.NoNode);
  });
});

describe('Shards.updateFields', () => {
  it('sets the primary alias and term start time under the shard lock', async () => {
    await shards().create('ks', '-80');
    const lock = await locks().lockShard('ks', '-80', 'PlannedReparentShard');
    const updated = await shards().updateFields(
      'ks',
      '-80',
      (shard) => {
        shard.primaryAlias = { cell: 'zone1', uid: 100 };
        shard.primaryTermStartTime = { seconds: '1700000000', nanoseconds: 5 };
      },
      { fence: lock.fence },
    );
    await lock.unlock();
    const read = await shards().get('ks', '-80');
    expect(read.version).toBe(updated.version);
    expect(read.shard.primaryAlias).toEqual({ cell: 'zone1', uid: 100 });
    expect(read.shard.primaryTermStartTime).toEqual({ seconds: '1700000000', nanoseconds: 5 });
  });

  it('refuses a fenced update after the lock is lost, with LockLost, and does not retry', async () => {
    await shards().create('ks', '-80');
    const lock = await locks().lockShard('ks', '-80', 'PlannedReparentShard');
    await store().revokeLease(lock.leaseId);
    let calls = 0;
    await expectRefused(
      store(),
      () =>
        shards().updateFields(
          'ks',
          '-80',
          (shard) => {
            calls++;
            shard.primaryAlias = { cell: 'zone1', uid: 100 };
          },
          { fence: lock.fence },
        ),
      TopoErrorCode.LockLost,
    );
    expect(calls).toBe(1);
  });

  it('refuses to change the key range', async () => {
    await shards().create('ks', '-80');
    const err = await expectRefused(
      store(),
      () =>
        shards().updateFields('ks', '-80', (shard) => {
          shard.keyRange = { start: Buffer.alloc(0), end: Buffer.from([0x40]) };
        }),
      TopoErrorCode.InvalidArgument,
    );
    expect(err.message).toContain('shard.key_range: cannot change after creation (was -80, now -40)');
  });

  it.each([
    ['a primary alias uid beyond uint32', (shard: Shard) => void (shard.primaryAlias = { cell: 'zone1', uid: 2 ** 32 }), 'shard.primary_alias.uid'],
    ['a primary alias cell with a slash', (shard: Shard) => void (shard.primaryAlias = { cell: 'a/b', uid: 1 }), 'shard.primary_alias.cell'],
    [
      'an unknown tablet type in tablet controls',
      (shard: Shard) => void shard.tabletControls.push({ tabletType: 42 as TabletType, cells: [], deniedTables: [], frozen: false }),
      'shard.tablet_controls[0].tablet_type',
    ],
    [
      'a source shard with a bad name',
      (shard: Shard) => void shard.sourceShards.push({ uid: 0, keyspace: 'ks', shard: '80-40', tables: [] }),
      'shard.source_shards[0].shard',
    ],
  ])('refuses %s', async (_, change, field) => {
    await shards().create('ks', '-80');
    const err = await expectRefused(store(), () => shards().updateFields('ks', '-80', change), TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(`${field}: `);
  });

  it('applies to a pinned version only', async () => {
    const created = await shards().create('ks', '-80');
    const updated = await shards().updateFields('ks', '-80', (shard) => void (shard.isPrimaryServing = false), {
      version: created.version,
    });
    await expectRefused(
      store(),
      () => shards().updateFields('ks', '-80', (shard) => void (shard.isPrimaryServing = true), { version: created.version }),
      TopoErrorCode.BadVersion,
    );
    expect((await shards().get('ks', '-80')).version).toBe(updated.version);
  });
});

describe('Shards.update and delete', () => {
  it('compare-and-swaps a whole record', async () => {
    const created = await shards().create('ks', '80-');
    const next = { ...created.shard, isPrimaryServing: false };
    const version = await shards().update('ks', '80-', next, created.version);
    await expectRefused(store(), () => shards().update('ks', '80-', created.shard, created.version), TopoErrorCode.BadVersion);
    expect((await shards().get('ks', '80-')).version).toBe(version);
  });

  it('deletes a shard, and reports NoNode for one that is gone', async () => {
    await shards().create('ks', '80-');
    await shards().delete('ks', '80-');
    await expectRefused(store(), () => shards().get('ks', '80-'), TopoErrorCode.NoNode);
    await expectRefused(store(), () => shards().delete('ks', '80-'), TopoErrorCode.NoNode);
  });
});
