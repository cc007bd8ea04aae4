import { TopoErrorCode } from '../store';
import { CellTopology } from './cell-topology';
import { expectRefused, useMemoryStore } from './private/memory-store.fixture';
import { newTablet } from './private/tablet.fixture';

const store = useMemoryStore();

describe('CellTopology', () => {
  it('accepts only tablets of its own cell, in records and registrations', async () => {
    const cell = new CellTopology(store(), { cell: 'zone1' });
    await cell.registry.register(newTablet(1), { session: 'host-1' });
    const other = newTablet(2, { alias: { cell: 'zone2', uid: 2 } });
    await expectRefused(store(), () => cell.tablets.create(other), TopoErrorCode.InvalidArgument);
    await expectRefused(store(), () => cell.registry.register(other, { session: 'host-2' }), TopoErrorCode.InvalidArgument);
    expect((await cell.shardReplications.get('ks', '-80')).replication.nodes).toHaveLength(1);
  });

  it('applies its registration TTL bounds', async () => {
    const cell = new CellTopology(store(), { registry: { defaultTtlSeconds: 30, maxTtlSeconds: 30 } });
    expect((await cell.registry.register(newTablet(1), { session: 'host-1' })).ttlSeconds).toBe(30);
    await expectRefused(store(), () => cell.registry.register(newTablet(2), { session: 'host-2', ttlSeconds: 31 }), TopoErrorCode.InvalidArgument);
  });

  it('refuses a bad cell name', () => {
    expect(() => new CellTopology(store(), { cell: 'a/b' })).toThrow(`cell: "a/b" has '/'`);
  });
});
