import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { readDescriptorSet } from '../../proto';
import { DescriptorIndex } from './descriptor-index';
import { PROBE_FILE, PROBE_MESSAGE, withProbe } from './reflection-probe.fixture';

const index = new DescriptorIndex(withProbe(readDescriptorSet()));

describe('DescriptorIndex', () => {
  it.each([
    ['a service', 'topo.testing.v1.ReflectionProbe', PROBE_FILE],
    ['a method', 'topo.testing.v1.ReflectionProbe.Echo', PROBE_FILE],
    ['a message', PROBE_MESSAGE, PROBE_FILE],
    ['a nested message', `${PROBE_MESSAGE}.Inner`, PROBE_FILE],
    ['a nested enum', `${PROBE_MESSAGE}.Mood`, PROBE_FILE],
    ['a nested enum value, beside its enum', `${PROBE_MESSAGE}.MOOD_BUSY`, PROBE_FILE],
    ['a nested enum value, under its enum', `${PROBE_MESSAGE}.Mood.MOOD_BUSY`, PROBE_FILE],
    ['a field', `${PROBE_MESSAGE}.at`, PROBE_FILE],
    ['a field of a nested message', `${PROBE_MESSAGE}.Inner.note`, PROBE_FILE],
    ['a oneof', `${PROBE_MESSAGE}.choice`, PROBE_FILE],
    ['an extension', 'topo.testing.v1.probe_note', PROBE_FILE],
    ['a top-level enum', 'topo.data.v1.TabletType', 'topo/data/v1/topodata.proto'],
    ['a top-level enum value', 'topo.data.v1.REPLICA', 'topo/data/v1/topodata.proto'],
    ['a google.protobuf type', 'google.protobuf.Timestamp', 'google/protobuf/timestamp.proto'],
    ['a name with a leading dot', `.${PROBE_MESSAGE}`, PROBE_FILE],
  ])('finds the file declaring %s', (_kind, symbol, file) => {
    expect(index.fileContainingSymbol(symbol)).toBe(file);
  });

  it.each([['topo.data.v1'], ['topo.data.v1.Tablet.nope'], ['Tablet'], ['']])(
    'finds nothing for %p',
    (symbol) => {
      expect(index.fileContainingSymbol(symbol)).toBeUndefined();
    },
  );

  it('lists a file first, then each transitive import once', () => {
    const names = index
      .fileWithDependencies(PROBE_FILE)
      .map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
    expect(names).toEqual([
      PROBE_FILE,
      'google/protobuf/timestamp.proto',
      'topo/data/v1/topodata.proto',
      'topo/data/v1/vttime.proto',
      'topo/vtorc/v1/vtorcdata.proto',
    ]);
  });

  it('serves each file byte for byte as the descriptor set holds it, comments included', () => {
    const raw = new Map<string, Buffer>();
    const reader = new BinaryReader(readDescriptorSet());
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field !== 1) {
        reader.skip(wireType);
        continue;
      }
      const bytes = Buffer.from(reader.bytes());
      raw.set(fromBinary(FileDescriptorProtoSchema, bytes).name, bytes);
    }
    const [topodata] = index.fileWithDependencies('topo/data/v1/topodata.proto');
    expect(topodata).toEqual(raw.get('topo/data/v1/topodata.proto'));
    expect(fromBinary(FileDescriptorProtoSchema, topodata).sourceCodeInfo).toBeDefined();
  });

  it('finds extensions by extendee and number, and lists their numbers', () => {
    expect(index.fileContainingExtension(PROBE_MESSAGE, 100)).toBe(PROBE_FILE);
    expect(index.fileContainingExtension(`.${PROBE_MESSAGE}`, 150)).toBe(PROBE_FILE);
    expect(index.fileContainingExtension(PROBE_MESSAGE, 101)).toBeUndefined();
    expect(index.extensionNumbersOf(PROBE_MESSAGE)).toEqual([100, 150]);
    expect(index.extensionNumbersOf('topo.data.v1.Tablet')).toEqual([]);
    expect(index.extensionNumbersOf('topo.data.v1.TabletType')).toBeUndefined();
    expect(index.extensionNumbersOf('topo.nope.Missing')).toBeUndefined();
  });

  it('knows the services the set declares', () => {
    expect(index.serviceNames()).toEqual(
      expect.arrayContaining([
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
        'topo.testing.v1.ReflectionProbe',
      ]),
    );
  });

  it('refuses a descriptor set that lacks an imported file', () => {
    const set = fromBinary(FileDescriptorSetSchema, readDescriptorSet());
    set.file = set.file.filter((file) => file.name !== 'topo/data/v1/vttime.proto');
    expect(() => new DescriptorIndex(toBinary(FileDescriptorSetSchema, set))).toThrow(
      'descriptor set lacks topo/data/v1/vttime.proto, imported by',
    );
  });
});
