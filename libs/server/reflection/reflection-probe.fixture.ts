import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_timestamp,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import type { handleUnaryCall, ServiceDefinition } from '@grpc/grpc-js';

/**
 * A test-only file added to the real descriptor set in memory (never to proto/): its
 * message uses a google.protobuf type and a message from another file of ours, and it
 * declares an extension, so every kind of reflection lookup has something to find.
 *
 *   syntax = "proto2";
 *   package topo.testing.v1;
 *   import "google/protobuf/timestamp.proto";
 *   import "topo/data/v1/topodata.proto";
 *   message ProbeRequest {
 *     message Inner { optional string note = 1; }
 *     enum Mood { MOOD_CALM = 0; MOOD_BUSY = 1; }
 *     optional google.protobuf.Timestamp at = 1;
 *     optional topo.data.v1.Tablet tablet = 2;
 *     oneof choice { Inner inner = 3; Mood mood = 4; }
 *     extensions 100 to 199;
 *   }
 *   extend ProbeRequest { optional string probe_note = 100; optional int32 probe_rank = 150; }
 *   service ReflectionProbe { rpc Echo(ProbeRequest) returns (ProbeRequest); }
 */
export const PROBE_FILE = 'topo/testing/v1/reflection_probe.proto';
export const PROBE_SERVICE = 'topo.testing.v1.ReflectionProbe';
export const PROBE_MESSAGE = 'topo.testing.v1.ProbeRequest';
const TIMESTAMP_FILE = 'google/protobuf/timestamp.proto';

type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;

function field(name: string, number: number, init: FieldInit): FieldInit {
  const jsonName = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return { name, number, jsonName, label: Label.OPTIONAL, ...init };
}

function probeFile(): FileDescriptorProto {
  return create(FileDescriptorProtoSchema, {
    name: PROBE_FILE,
    package: 'topo.testing.v1',
    syntax: 'proto2',
    dependency: [TIMESTAMP_FILE, 'topo/data/v1/topodata.proto'],
    messageType: [
      {
        name: 'ProbeRequest',
        field: [
          field('at', 1, { type: Type.MESSAGE, typeName: '.google.protobuf.Timestamp' }),
          field('tablet', 2, { type: Type.MESSAGE, typeName: '.topo.data.v1.Tablet' }),
          field('inner', 3, {
            type: Type.MESSAGE,
            typeName: '.topo.testing.v1.ProbeRequest.Inner',
            oneofIndex: 0,
          }),
          field('mood', 4, {
            type: Type.ENUM,
            typeName: '.topo.testing.v1.ProbeRequest.Mood',
            oneofIndex: 0,
          }),
        ],
        nestedType: [{ name: 'Inner', field: [field('note', 1, { type: Type.STRING })] }],
        enumType: [
          {
            name: 'Mood',
            value: [
              { name: 'MOOD_CALM', number: 0 },
              { name: 'MOOD_BUSY', number: 1 },
            ],
          },
        ],
        oneofDecl: [{ name: 'choice' }],
        extensionRange: [{ start: 100, end: 200 }],
      },
    ],
    extension: [
      field('probe_note', 100, { type: Type.STRING, extendee: `.${PROBE_MESSAGE}` }),
      field('probe_rank', 150, { type: Type.INT32, extendee: `.${PROBE_MESSAGE}` }),
    ],
    service: [
      {
        name: 'ReflectionProbe',
        method: [
          { name: 'Echo', inputType: `.${PROBE_MESSAGE}`, outputType: `.${PROBE_MESSAGE}` },
        ],
      },
    ],
  });
}

/** The descriptor set plus the probe file (and timestamp.proto when the set lacks it). */
export function withProbe(descriptorSet: Uint8Array): Buffer {
  const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
  if (!set.file.some((file) => file.name === TIMESTAMP_FILE)) {
    set.file.push(file_google_protobuf_timestamp.proto);
  }
  set.file.push(probeFile());
  return Buffer.from(toBinary(FileDescriptorSetSchema, set));
}

/** ReflectionProbe/Echo on raw bytes: it answers with the request it got. */
export const probeServiceDefinition: ServiceDefinition<{ echo: handleUnaryCall<Buffer, Buffer> }> = {
  echo: {
    path: `/${PROBE_SERVICE}/Echo`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (value: Buffer) => value,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (value: Buffer) => value,
    originalName: 'echo',
  },
};

export const echoProbe: handleUnaryCall<Buffer, Buffer> = (call, callback) =>
  callback(null, call.request);
