import { TopoErrorCode } from '../store';
import {
  ROUTING_RULES_PATH,
  SRV_VSCHEMA_PATH,
  cellInfoPath,
  cellsAliasPath,
  keyspaceLockDir,
  keyspacePath,
  lockQueueDir,
  namedLockDir,
  shardLockDir,
  shardPath,
  shardReplicationPath,
  srvKeyspacePath,
  tabletPath,
  vschemaPath,
} from './paths';
import { rejection } from './private/memory-store.fixture';

describe('paths', () => {
  it('lays out the global topology as Vitess does', () => {
    expect(cellInfoPath('zone1')).toBe('cells/zone1/CellInfo');
    expect(cellsAliasPath('east')).toBe('cells_aliases/east/CellsAlias');
    expect(keyspacePath('ks')).toBe('keyspaces/ks/Keyspace');
    expect(vschemaPath('ks')).toBe('keyspaces/ks/VSchema');
    expect(shardPath('ks', '-80')).toBe('keyspaces/ks/shards/-80/Shard');
    expect(ROUTING_RULES_PATH).toBe('RoutingRules');
    expect(keyspaceLockDir('ks')).toBe('keyspaces/ks');
    expect(shardLockDir('ks', '80-')).toBe('keyspaces/ks/shards/80-');
    expect(namedLockDir('ks.wf')).toBe('internal/named_locks/ks.wf');
    expect(lockQueueDir(keyspaceLockDir('ks'))).toBe('keyspaces/ks/locks');
  });

  it('lays out the cell topology as Vitess does', () => {
    expect(tabletPath({ cell: 'zone1', uid: 100 })).toBe('tablets/zone1-0000000100/Tablet');
    expect(shardReplicationPath('ks', '0')).toBe('keyspaces/ks/shards/0/ShardReplication');
    expect(srvKeyspacePath('ks')).toBe('keyspaces/ks/SrvKeyspace');
    expect(SRV_VSCHEMA_PATH).toBe('SrvVSchema');
  });

  it('uses the canonical lowercase shard name', () => {
    expect(shardPath('ks', '80-C0')).toBe('keyspaces/ks/shards/80-c0/Shard');
  });

  it.each([
    ['keyspace', () => keyspacePath('../etc')],
    ['shard', () => shardPath('ks', 'a/b')],
    ['cell', () => cellInfoPath('')],
    ['tablet_alias.uid', () => tabletPath({ cell: 'zone1', uid: -1 })],
    ['lock_name', () => namedLockDir('..')],
  ])('refuses to build a path from a bad %s', async (field, build) => {
    const err = await rejection(build);
    expect(err.code).toBe(TopoErrorCode.InvalidArgument);
    expect(err.message).toContain(`${field}: `);
  });
});
