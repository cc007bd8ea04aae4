import { Keyspace, KeyspaceType, Shard, SrvKeyspace, TabletType, ThrottlerConfig, tabletTypeToJSON, vschema as vschemapb } from '../proto';
import { TopoErrorCode } from '../store';
import { keyRangeString, parseKeyRange } from './key-range';
import { rejection } from './private/memory-store.fixture';
import { computeSrvKeyspace, computeSrvVSchema, type ShardInput } from './rebuild';

const keyspace = (overrides: Partial<Keyspace> = {}): Keyspace => ({ ...Keyspace.create(), ...overrides });

/** A shard as Shards.create stores it: the range from the name, unset for the full range. */
function shard(name: string, serving = true, overrides: Partial<Shard> = {}): ShardInput {
  const range = parseKeyRange(name);
  const full = keyRangeString(range) === '-';
  return { name, shard: { ...Shard.create(), keyRange: full ? undefined : range, isPrimaryServing: serving, ...overrides } };
}

/** Each partition as `TYPE: shard shard ...`. */
function partitions(srv: SrvKeyspace): string[] {
  return srv.partitions.map((p) => {
    const references = p.shardReferences.map((r) => `${r.name}=${keyRangeString(r.keyRange)}`);
    return `${tabletTypeToJSON(p.servedType)}: ${references.join(' ')}`;
  });
}

async function refusal(call: () => unknown): Promise<{ code: TopoErrorCode; message: string }> {
  return rejection(call);
}

describe('computeSrvKeyspace', () => {
  it('lists the serving shards sorted by key range in a PRIMARY, a REPLICA and an RDONLY partition', () => {
    const srv = computeSrvKeyspace(keyspace(), [shard('80-'), shard('-80')], 'zone1');
    expect(partitions(srv)).toEqual(['PRIMARY: -80=-80 80-=80-', 'REPLICA: -80=-80 80-=80-', 'RDONLY: -80=-80 80-=80-']);
    expect(srv.partitions.every((p) => p.shardTabletControls.length === 0)).toBe(true);
    expect(srv.throttlerConfig).toBeUndefined();
  });

  it('leaves out shards whose primary does not serve, such as the target of a resharding', () => {
    const srv = computeSrvKeyspace(keyspace(), [shard('-80'), shard('40-c0', false), shard('0', false), shard('80-')], 'zone1');
    expect(partitions(srv)[0]).toBe('PRIMARY: -80=-80 80-=80-');
  });

  it('gives the unsharded shard with its key range unset', () => {
    const srv = computeSrvKeyspace(keyspace(), [shard('0')], 'zone1');
    expect(srv.partitions[1].shardReferences).toEqual([{ name: '0', keyRange: undefined }]);
  });

  it('has no partitions when no shard serves', () => {
    expect(computeSrvKeyspace(keyspace(), [shard('-80', false)], 'zone1').partitions).toEqual([]);
    expect(computeSrvKeyspace(keyspace(), [], 'zone1').partitions).toEqual([]);
  });

  it.each([
    ['a gap', [shard('-40'), shard('80-')], `leave a gap: "-40" (-40) then "80-" (80-)`],
    ['an overlap', [shard('-80'), shard('40-')], `overlap: "-80" (-80) then "40-" (40-)`],
    ['two full-range shards', [shard('0'), shard('-')], 'overlap: "-" (-) then "0" (-)'],
    ['no start at the minimum key', [shard('40-')], 'do not start at the minimum key: the first is "40-"'],
    ['no end at the maximum key', [shard('-c0')], 'do not end at the maximum key: the last is "-c0"'],
  ])('refuses serving shards with %s (NodeNotEmpty)', async (_, shards, message) => {
    const err = await refusal(() => computeSrvKeyspace(keyspace(), shards, 'zone1'));
    expect(err.code).toBe(TopoErrorCode.NodeNotEmpty);
    expect(err.message).toContain(`serving shards of cell "zone1" ${message}`);
  });

  it('skips the coverage check for a SNAPSHOT keyspace', () => {
    const srv = computeSrvKeyspace(keyspace({ keyspaceType: KeyspaceType.SNAPSHOT }), [shard('80-c0'), shard('40-80')], 'zone1');
    expect(partitions(srv)[0]).toBe('PRIMARY: 40-80=40-80 80-c0=80-c0');
  });

  it("carries the keyspace's throttler config", () => {
    const throttlerConfig = ThrottlerConfig.fromPartial({ enabled: true, threshold: 0.5, customQuery: 'select 1', metricThresholds: { lag: 2 } });
    const srv = computeSrvKeyspace(keyspace({ throttlerConfig }), [shard('0')], 'zone1');
    expect(srv.throttlerConfig).toEqual(throttlerConfig);
    expect(srv.throttlerConfig).not.toBe(throttlerConfig);
  });

  it("does not turn a Shard's tablet controls (denied tables) into query-service controls", () => {
    const controlled = shard('-80', true, {
      tabletControls: [{ tabletType: TabletType.REPLICA, cells: [], deniedTables: ['t1'], frozen: false }],
    });
    const srv = computeSrvKeyspace(keyspace(), [controlled, shard('80-')], 'zone1');
    expect(srv.partitions.flatMap((p) => p.shardTabletControls)).toEqual([]);
  });

  describe("against the cell's current SrvKeyspace", () => {
    const current = (queryServiceDisabled: boolean): SrvKeyspace => ({
      partitions: [
        {
          servedType: TabletType.REPLICA,
          shardReferences: [{ name: '0', keyRange: undefined }],
          shardTabletControls: [{ name: '0', keyRange: undefined, queryServiceDisabled }],
        },
      ],
      throttlerConfig: undefined,
    });

    it('refuses while a traffic switch has disabled query service in that cell', async () => {
      const err = await refusal(() => computeSrvKeyspace(keyspace(), [shard('-80'), shard('80-')], 'zone2', current(true)));
      expect(err.code).toBe(TopoErrorCode.NodeNotEmpty);
      expect(err.message).toContain('cell "zone2": the REPLICA partition has query service disabled for shard "0"');
    });

    it('rebuilds over controls that no longer disable anything, dropping them', () => {
      const srv = computeSrvKeyspace(keyspace(), [shard('-80'), shard('80-')], 'zone2', current(false));
      expect(srv.partitions.flatMap((p) => p.shardTabletControls)).toEqual([]);
      expect(partitions(srv)[1]).toBe('REPLICA: -80=-80 80-=80-');
    });
  });

  it('refuses a bad cell, a bad shard name and a shard given twice', async () => {
    expect((await refusal(() => computeSrvKeyspace(keyspace(), [], 'a/b'))).message).toContain('cell:');
    expect((await refusal(() => computeSrvKeyspace(keyspace(), [shard('0'), { ...shard('0'), name: 'x/y' }], 'zone1'))).message).toContain(
      'shards[1].name:',
    );
    expect((await refusal(() => computeSrvKeyspace(keyspace(), [shard('80-C0'), shard('80-c0')], 'zone1'))).message).toContain(
      'shards[1].name: "80-c0" is given twice',
    );
  });
});

describe('computeSrvVSchema', () => {
  const vschemaOf = (value: Partial<vschemapb.Keyspace>): Uint8Array => vschemapb.Keyspace.encode(vschemapb.Keyspace.fromPartial(value)).finish();
  const decoded = (bytes: Uint8Array): vschemapb.SrvVSchema => vschemapb.SrvVSchema.decode(bytes);

  it('writes a binary vschema.SrvVSchema holding every keyspace, an empty vschema for one without', () => {
    const sharded = vschemaOf({ sharded: true, vindexes: { hash: { type: 'hash', params: {}, owner: '' } } });
    const srv = decoded(computeSrvVSchema(new Map([['zeta', sharded], ['alpha', undefined]])));
    expect(Object.keys(srv.keyspaces)).toEqual(['alpha', 'zeta']);
    expect(srv.keyspaces.zeta.sharded).toBe(true);
    expect(srv.keyspaces.zeta.vindexes.hash.type).toBe('hash');
    expect(srv.keyspaces.alpha).toEqual(vschemapb.Keyspace.fromPartial({}));
    // Vitess's getters answer empty rules when none are stored; the SrvVSchema carries them set and empty.
    expect(srv.routingRules).toEqual({ rules: [] });
    expect(srv.mirrorRules).toEqual({ rules: [] });
  });

  it('gives the same bytes for the same inputs in any order', () => {
    const a = vschemaOf({ sharded: true });
    const b = vschemaOf({ requireExplicitRouting: true });
    const first = computeSrvVSchema(new Map([['a', a], ['b', b]]));
    const second = computeSrvVSchema(new Map([['b', b], ['a', a]]));
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
  });

  it('embeds stored messages byte for byte, fields unknown to our proto copy included', () => {
    // Field 99 (varint 7) is not in vschema.Keyspace: a newer Vitess field must reach vtgate.
    const withNewerField = Buffer.concat([Buffer.from(vschemaOf({ sharded: true })), Buffer.from([0x98, 0x06, 0x07])]);
    const bytes = Buffer.from(computeSrvVSchema(new Map([['ks', withNewerField]])));
    expect(bytes.includes(withNewerField)).toBe(true);
  });

  it('carries the routing, shard routing, keyspace routing and mirror rules as stored', () => {
    const routingRules = vschemapb.RoutingRules.encode({ rules: [{ fromTable: 't', toTables: ['ks.t'] }] }).finish();
    const mirrorRules = vschemapb.MirrorRules.encode({ rules: [{ fromTable: 'a', toTable: 'b', percent: 50 }] }).finish();
    const srv = decoded(computeSrvVSchema(new Map(), { routingRules, mirrorRules }));
    expect(srv.routingRules?.rules).toEqual([{ fromTable: 't', toTables: ['ks.t'] }]);
    expect(srv.mirrorRules?.rules).toEqual([{ fromTable: 'a', toTable: 'b', percent: 50 }]);
    expect(srv.shardRoutingRules).toEqual({ rules: [] });
  });

  it('refuses a vschema that is not binary (a JSON one) and a bad keyspace name', async () => {
    const json = await refusal(() => computeSrvVSchema(new Map([['ks', Buffer.from('{"sharded":true}')]])));
    expect(json.code).toBe(TopoErrorCode.InvalidArgument);
    expect(json.message).toContain('vschema of "ks": is not a binary vschema.Keyspace protobuf');
    const name = await refusal(() => computeSrvVSchema(new Map([['a/b', undefined]])));
    expect(name.message).toContain('keyspace_vschemas: "a/b"');
  });
});
