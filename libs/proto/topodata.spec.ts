import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

import {
  CellInfo,
  Keyspace,
  KeyspaceType,
  Shard,
  SrvKeyspace,
  Tablet,
  TabletType,
  Time,
  readDescriptorSet,
  tabletTypeFromJSON,
  tabletTypeToJSON,
} from './index';

// The expected bytes are written by hand from Vitess's field numbers, not produced by our
// generated encoders: encoding with the types under test would prove nothing. Fields are
// written in field-number order, as Go's protobuf marshals them.

const VARINT = 0;
const I64 = 1;
const LEN = 2;

function varint(value: number | bigint): Buffer {
  // Negative int64/int32 values are sent as their 64-bit two's complement.
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
  return Buffer.from(out);
}

const tag = (field: number, wireType: number): Buffer => varint((field << 3) | wireType);
const int = (field: number, value: number | bigint): Buffer => Buffer.concat([tag(field, VARINT), varint(value)]);
const bool = (field: number, value: boolean): Buffer => int(field, value ? 1 : 0);
const bytes = (field: number, value: Uint8Array): Buffer =>
  Buffer.concat([tag(field, LEN), varint(value.length), value]);
const str = (field: number, value: string): Buffer => bytes(field, Buffer.from(value, 'utf8'));
const msg = (field: number, ...parts: Buffer[]): Buffer => bytes(field, Buffer.concat(parts));
const double = (field: number, value: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([tag(field, I64), b]);
};

const enc = (writer: { finish(): Uint8Array }): Buffer => Buffer.from(writer.finish());

describe('Vitess topodata wire compatibility', () => {
  it('decodes a Vitess Tablet and re-encodes it to the same bytes', () => {
    const wire = Buffer.concat([
      msg(1, str(1, 'zone1'), int(2, 100)), // alias
      str(2, 'host-100.zone1'), // hostname
      msg(4, str(1, 'grpc'), int(2, 15999)), // port_map entry
      str(5, 'commerce'), // keyspace
      str(6, '-80'), // shard
      msg(7, bytes(2, Buffer.from([0x80]))), // key_range, open start
      int(8, 2), // type REPLICA
      str(9, 'vt_commerce_v2'), // db_name_override
      msg(10, str(1, 'dc'), str(2, 'east')), // tags entry
      str(12, 'mysql-100.zone1'), // mysql_hostname
      int(13, 3306), // mysql_port
      msg(14, int(1, 1_700_000_000), int(2, 123)), // primary_term_start_time
      int(16, 255), // default_conn_collation: two-byte tag
      msg(17, int(1, 1_700_000_100)), // tablet_start_time
    ]);

    const tablet = Tablet.decode(wire);

    expect(tablet).toEqual<Tablet>({
      alias: { cell: 'zone1', uid: 100 },
      hostname: 'host-100.zone1',
      portMap: { grpc: 15999 },
      keyspace: 'commerce',
      shard: '-80',
      keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) },
      type: TabletType.REPLICA,
      dbNameOverride: 'vt_commerce_v2',
      tags: { dc: 'east' },
      mysqlHostname: 'mysql-100.zone1',
      mysqlPort: 3306,
      primaryTermStartTime: { seconds: '1700000000', nanoseconds: 123 },
      defaultConnCollation: 255,
      tabletStartTime: { seconds: '1700000100', nanoseconds: 0 },
    });
    expect(enc(Tablet.encode(tablet))).toEqual(wire);
  });

  it('skips fields Vitess made obsolete (ip, health_map) when decoding an old Tablet', () => {
    const wire = Buffer.concat([
      msg(1, str(1, 'zone1'), int(2, 7)),
      str(3, '10.0.0.7'), // ip, reserved since
      msg(11, str(1, 'replication_lag'), str(2, 'high')), // health_map entry, reserved since
      int(8, 1),
    ]);

    const tablet = Tablet.decode(wire);

    expect(tablet.alias).toEqual({ cell: 'zone1', uid: 7 });
    expect(tablet.type).toBe(TabletType.PRIMARY);
    expect(enc(Tablet.encode(tablet))).toEqual(Buffer.concat([msg(1, str(1, 'zone1'), int(2, 7)), int(8, 1)]));
  });

  it('decodes a Vitess Shard with source shards and tablet controls and re-encodes it to the same bytes', () => {
    const wire = Buffer.concat([
      msg(1, str(1, 'zone1'), int(2, 100)), // primary_alias
      msg(2, bytes(2, Buffer.from([0x80]))), // key_range
      msg(4, int(1, 1), str(2, 'commerce'), str(3, '0'), str(5, 'customer'), str(5, 'corder')), // source_shards
      msg(6, int(1, 3), str(2, 'zone1'), str(2, 'zone2'), str(4, 'customer'), bool(5, true)), // tablet_controls
      bool(7, true), // is_primary_serving
      msg(8, int(1, 1_700_000_000), int(2, 5)), // primary_term_start_time
      msg(9, bool(1, true)), // vtorc_state
    ]);

    const shard = Shard.decode(wire);

    expect(shard).toEqual<Shard>({
      primaryAlias: { cell: 'zone1', uid: 100 },
      keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) },
      sourceShards: [
        {
          uid: 1,
          keyspace: 'commerce',
          shard: '0',
          keyRange: undefined,
          tables: ['customer', 'corder'],
        },
      ],
      tabletControls: [
        { tabletType: TabletType.RDONLY, cells: ['zone1', 'zone2'], deniedTables: ['customer'], frozen: true },
      ],
      isPrimaryServing: true,
      primaryTermStartTime: { seconds: '1700000000', nanoseconds: 5 },
      vtorcState: { disableEmergencyReparent: true },
    });
    expect(enc(Shard.encode(shard))).toEqual(wire);
  });

  it('decodes a Vitess snapshot Keyspace and re-encodes it to the same bytes', () => {
    const wire = Buffer.concat([
      int(5, 1), // keyspace_type SNAPSHOT
      str(6, 'commerce'), // base_keyspace
      msg(7, int(1, 1_700_000_000)), // snapshot_time
      str(8, 'semi_sync'), // durability_policy
      msg(9, bool(1, true), double(2, 1.5)), // throttler_config
      str(10, '_vt'), // sidecar_db_name
    ]);

    const keyspace = Keyspace.decode(wire);

    expect(keyspace.keyspaceType).toBe(KeyspaceType.SNAPSHOT);
    expect(keyspace.baseKeyspace).toBe('commerce');
    expect(keyspace.snapshotTime).toEqual({ seconds: '1700000000', nanoseconds: 0 });
    expect(keyspace.durabilityPolicy).toBe('semi_sync');
    expect(keyspace.throttlerConfig?.enabled).toBe(true);
    expect(keyspace.throttlerConfig?.threshold).toBe(1.5);
    expect(keyspace.sidecarDbName).toBe('_vt');
    expect(enc(Keyspace.encode(keyspace))).toEqual(wire);
  });

  it('decodes a Vitess SrvKeyspace partition and re-encodes it to the same bytes', () => {
    const wire = Buffer.concat([
      msg(
        1, // partitions
        int(1, 1), // served_type PRIMARY
        msg(2, str(1, '-80'), msg(2, bytes(2, Buffer.from([0x80])))), // shard_references
        msg(2, str(1, '80-'), msg(2, bytes(1, Buffer.from([0x80])))),
        msg(3, str(1, '-80'), msg(2, bytes(2, Buffer.from([0x80]))), bool(3, true)), // shard_tablet_controls
      ),
    ]);

    const srvKeyspace = SrvKeyspace.decode(wire);

    expect(srvKeyspace).toEqual<SrvKeyspace>({
      partitions: [
        {
          servedType: TabletType.PRIMARY,
          shardReferences: [
            { name: '-80', keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) } },
            { name: '80-', keyRange: { start: Buffer.from([0x80]), end: Buffer.alloc(0) } },
          ],
          shardTabletControls: [
            {
              name: '-80',
              keyRange: { start: Buffer.alloc(0), end: Buffer.from([0x80]) },
              queryServiceDisabled: true,
            },
          ],
        },
      ],
      throttlerConfig: undefined,
    });
    expect(enc(SrvKeyspace.encode(srvKeyspace))).toEqual(wire);
  });

  it('decodes a Vitess CellInfo and re-encodes it to the same bytes', () => {
    const wire = Buffer.concat([str(1, 'etcd-zone1:2379'), str(2, '/vitess/zone1')]);

    const cellInfo = CellInfo.decode(wire);

    expect(cellInfo).toEqual<CellInfo>({ serverAddress: 'etcd-zone1:2379', root: '/vitess/zone1' });
    expect(enc(CellInfo.encode(cellInfo))).toEqual(wire);
  });

  it('keeps int64 seconds beyond 2^53 exact as strings, both ways', () => {
    const beyondDouble = 2n ** 53n + 1n; // 9007199254740993 rounds to ...992 as a number
    const wire = Buffer.concat([int(1, beyondDouble), int(2, 999_999_999)]);

    const time = Time.decode(wire);

    expect(time.seconds).toBe('9007199254740993');
    expect(enc(Time.encode(time))).toEqual(wire);
  });

  it('keeps negative int64 seconds exact (ten-byte varint)', () => {
    const wire = int(1, -1n);
    expect(wire).toHaveLength(11);

    const time = Time.decode(wire);

    expect(time.seconds).toBe('-1');
    expect(enc(Time.encode(time))).toEqual(wire);
  });

  it('reads the enum names Vitess aliases: MASTER as PRIMARY, BATCH as RDONLY', () => {
    expect(tabletTypeFromJSON('MASTER')).toBe(TabletType.PRIMARY);
    expect(tabletTypeFromJSON('BATCH')).toBe(TabletType.RDONLY);
    // Like Go's protojson, the first declared name wins when writing.
    expect(tabletTypeToJSON(TabletType.PRIMARY)).toBe('PRIMARY');
    expect(tabletTypeToJSON(TabletType.BATCH)).toBe('RDONLY');
  });
});

describe('descriptor set', () => {
  it('holds the data model and every file it imports', () => {
    const set = fromBinary(FileDescriptorSetSchema, readDescriptorSet());
    const names = new Set(set.file.map((f) => f.name));

    expect(names).toContain('topo/data/v1/topodata.proto');
    for (const file of set.file) {
      for (const dependency of file.dependency) {
        expect(names).toContain(dependency);
      }
    }
    const topodata = set.file.find((f) => f.name === 'topo/data/v1/topodata.proto');
    const tablet = topodata?.messageType.find((m) => m.name === 'Tablet');
    expect(tablet?.field.find((f) => f.name === 'port_map')?.number).toBe(4);
  });
});
