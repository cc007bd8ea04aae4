import { Keyspace, KeyspaceType, Shard, SrvKeyspace, TabletType, ThrottlerConfig, tabletTypeToJSON } from '../proto';
import { TopoErrorCode } from '../store';
import { keyRangeString, parseKeyRange } from './key-range';
import { rejection } from './private/memory-store.fixture';
import { canonicalJson, computeSrvKeyspace, computeSrvVSchema, type ShardInput } from './rebuild';

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
    expect((await refusal(() => computeSrvKeyspace(keyspace(), [shard('0'), { ...shard('0'), name: 'x' }], 'zone1'))).message).toContain(
      'shards[1].name:',
    );
    expect((await refusal(() => computeSrvKeyspace(keyspace(), [shard('80-C0'), shard('80-c0')], 'zone1'))).message).toContain(
      'shards[1].name: "80-c0" is given twice',
    );
  });
});

describe('computeSrvVSchema', () => {
  const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
  const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

  it('embeds JSON vschemas with keys sorted at every level, whatever the input order', () => {
    const a = new Map([
      ['zeta', json({ tables: { t2: {}, t1: { column_vindexes: [{ name: 'hash', column: 'id' }] } }, sharded: true })],
      ['alpha', json({ tables: {} })],
    ]);
    const b = new Map([
      ['alpha', Buffer.from('{ "tables": {} }')],
      ['zeta', json({ sharded: true, tables: { t1: { column_vindexes: [{ column: 'id', name: 'hash' }] }, t2: {} } })],
    ]);
    const expected =
      '{"keyspaces":{"alpha":{"tables":{}},"zeta":{"sharded":true,"tables":{"t1":{"column_vindexes":[{"column":"id","name":"hash"}]},"t2":{}}}}}';
    expect(text(computeSrvVSchema(a))).toBe(expected);
    expect(Buffer.from(computeSrvVSchema(b)).equals(Buffer.from(computeSrvVSchema(a)))).toBe(true);
  });

  it('carries bytes that are not a JSON object as base64', () => {
    const binary = Uint8Array.of(0x0a, 0x02, 0xff, 0x00);
    const doc = JSON.parse(text(computeSrvVSchema(new Map([['bin', binary], ['list', json([1, 2])], ['empty', new Uint8Array(0)]])))) as {
      keyspaces: Record<string, unknown>;
    };
    expect(doc.keyspaces).toEqual({ bin: Buffer.from(binary).toString('base64'), empty: '', list: Buffer.from('[1,2]').toString('base64') });
  });

  it('includes routing rules only when given', () => {
    const rules = json({ rules: [{ from_table: 't', to_tables: ['ks.t'] }] });
    expect(text(computeSrvVSchema(new Map(), rules))).toBe('{"keyspaces":{},"routing_rules":{"rules":[{"from_table":"t","to_tables":["ks.t"]}]}}');
    expect(text(computeSrvVSchema(new Map()))).toBe('{"keyspaces":{}}');
  });

  it('refuses a bad keyspace name', async () => {
    const err = await refusal(() => computeSrvVSchema(new Map([['a/b', json({})]])));
    expect(err.code).toBe(TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('keyspace_vschemas: "a/b"');
  });

  it('writes canonical JSON for any value', () => {
    expect(canonicalJson({ b: [{ d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[{"c":null,"d":1}]}');
  });
});
