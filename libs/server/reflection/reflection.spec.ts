import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { readDescriptorSet } from '../../proto';
import * as v1 from '../../proto/gen/grpc/reflection/v1/reflection';
import * as v1alpha from '../../proto/gen/grpc/reflection/v1alpha/reflection';
import { grpcurl } from '../../testing/grpcurl';
import { addHealth, HEALTH_SERVICE_NAME, HealthService } from '../health';
import { addReflection } from './add-reflection';
import {
  echoProbe,
  PROBE_FILE,
  PROBE_MESSAGE,
  PROBE_SERVICE,
  probeServiceDefinition,
  withProbe,
} from './reflection-probe.fixture';

const TOPODATA_FILES = [
  'topo/data/v1/topodata.proto',
  'topo/data/v1/vttime.proto',
  'topo/vtorc/v1/vtorcdata.proto',
];

let server: grpc.Server;
let address: string;

beforeAll(async () => {
  server = new grpc.Server();
  addHealth(server, new HealthService());
  server.addService(probeServiceDefinition, { echo: echoProbe });
  addReflection(server, {
    services: [HEALTH_SERVICE_NAME, PROBE_SERVICE],
    descriptorSet: withProbe(readDescriptorSet()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
});

describe('grpcurl over server reflection, no protoset', () => {
  it('lists every registered service, both reflection versions included', async () => {
    const result = await grpcurl(address, ['list']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      PROBE_SERVICE,
    ]);
  });

  it('lists the methods of a service', async () => {
    const result = await grpcurl(address, ['list', 'grpc.health.v1.Health']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'grpc.health.v1.Health.Check',
      'grpc.health.v1.Health.List',
      'grpc.health.v1.Health.Watch',
    ]);
  });

  it('describes the health service with its streaming method', async () => {
    const result = await grpcurl(address, ['describe', 'grpc.health.v1.Health']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('grpc.health.v1.Health is a service:');
    expect(result.stdout).toContain(
      'rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );',
    );
  });

  it('describes a message whose fields are declared in other files', async () => {
    const result = await grpcurl(address, ['describe', 'topo.data.v1.Tablet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('topo.data.v1.Tablet is a message:');
    expect(result.stdout).toContain('.topo.data.v1.TabletAlias alias = 1;');
    // Time lives in vttime.proto, a dependency of topodata.proto.
    expect(result.stdout).toContain('.topo.data.v1.Time primary_term_start_time = 14;');
  });

  it('describes a message that uses a google.protobuf type, and that type', async () => {
    const probe = await grpcurl(address, ['describe', PROBE_MESSAGE]);
    expect(probe.stderr).toBe('');
    expect(probe.stdout).toContain('optional .google.protobuf.Timestamp at = 1;');
    const timestamp = await grpcurl(address, ['describe', 'google.protobuf.Timestamp']);
    expect(timestamp.code).toBe(0);
    expect(timestamp.stdout).toContain('int64 seconds = 1;');
  });

  it('describes nested types, enum values and fields by their full names', async () => {
    for (const [symbol, says] of [
      ['topo.data.v1.Shard.TabletControl', 'topo.data.v1.Shard.TabletControl is a message'],
      ['topo.data.v1.TabletType', 'topo.data.v1.TabletType is an enum'],
      // grpcurl names enum values under their enum; protobuf scopes them beside it.
      ['topo.data.v1.TabletType.PRIMARY', 'topo.data.v1.TabletType.PRIMARY is an enum value'],
      ['topo.data.v1.PRIMARY', 'topo.data.v1.TabletType.PRIMARY is an enum value'],
      ['topo.data.v1.Tablet.hostname', 'topo.data.v1.Tablet.hostname is a field'],
      ['grpc.health.v1.Health.Check', 'grpc.health.v1.Health.Check is a method'],
    ]) {
      const result = await grpcurl(address, ['describe', symbol]);
      expect(`${result.stdout}${result.stderr}`).toContain(says);
    }
  });

  it('invokes a method whose request mixes a google.protobuf type and another file', async () => {
    const request = {
      at: '2024-05-01T10:00:00Z',
      tablet: { alias: { cell: 'zone1', uid: 100 }, hostname: 'db1', type: 'REPLICA' },
      mood: 'MOOD_BUSY',
    };
    const result = await grpcurl(address, [`${PROBE_SERVICE}/Echo`], { data: request });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(request);
  });

  it('reports an unknown symbol as not found', async () => {
    const result = await grpcurl(address, ['describe', 'topo.data.v1.NoSuchThing']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('topo.data.v1.NoSuchThing');
  });
});

/** Sends requests on one reflection stream and collects one response per request. */
async function ask<Req, Res>(
  call: grpc.ClientDuplexStream<Req, Res>,
  requests: Req[],
): Promise<Res[]> {
  const responses: Res[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (response: Res) => responses.push(response));
    call.on('error', reject);
    call.on('end', resolve);
  });
  for (const request of requests) call.write(request);
  call.end();
  await done;
  return responses;
}

function fileNames(response: v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse): string[] {
  const answer = response.messageResponse;
  if (answer?.$case !== 'fileDescriptorResponse') {
    throw new Error(`expected files, got ${JSON.stringify(answer)}`);
  }
  return answer.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

describe('reflection protocol, grpc-js client', () => {
  let alpha: v1alpha.ServerReflectionClient;
  let stable: v1.ServerReflectionClient;

  beforeAll(() => {
    alpha = new v1alpha.ServerReflectionClient(address, grpc.credentials.createInsecure());
    stable = new v1.ServerReflectionClient(address, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    alpha.close();
    stable.close();
  });

  it('v1alpha file_containing_symbol returns the file and all its transitive imports', async () => {
    const [tablet, probe] = await ask(alpha.serverReflectionInfo(), [
      { host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'topo.data.v1.Tablet' } },
      { host: '', messageRequest: { $case: 'fileContainingSymbol', value: PROBE_SERVICE } },
    ]);
    const tabletFiles = fileNames(tablet);
    expect(tabletFiles[0]).toBe('topo/data/v1/topodata.proto');
    expect([...tabletFiles].sort()).toEqual([...TOPODATA_FILES].sort());
    const probeFiles = fileNames(probe);
    expect(probeFiles[0]).toBe(PROBE_FILE);
    // Each file once, even though topodata.proto reaches vttime.proto by two paths.
    expect([...probeFiles].sort()).toEqual(
      [PROBE_FILE, 'google/protobuf/timestamp.proto', ...TOPODATA_FILES].sort(),
    );
  });

  it('v1alpha answers NOT_FOUND for an unknown symbol and keeps the stream open', async () => {
    const [missing, found] = await ask(alpha.serverReflectionInfo(), [
      { host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'topo.data.v1.Nope' } },
      { host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'topo.data.v1.TabletAlias' } },
    ]);
    expect(missing.messageResponse).toEqual({
      $case: 'errorResponse',
      value: { errorCode: grpc.status.NOT_FOUND, errorMessage: 'symbol not found: topo.data.v1.Nope' },
    });
    expect(missing.originalRequest?.messageRequest).toEqual({
      $case: 'fileContainingSymbol',
      value: 'topo.data.v1.Nope',
    });
    expect(fileNames(found)[0]).toBe('topo/data/v1/topodata.proto');
  });

  it('v1 file_by_filename returns the file with its imports, NOT_FOUND for an unknown file', async () => {
    const [vttime, missing] = await ask(stable.serverReflectionInfo(), [
      { host: '', messageRequest: { $case: 'fileByFilename', value: 'topo/data/v1/topodata.proto' } },
      { host: '', messageRequest: { $case: 'fileByFilename', value: 'no/such.proto' } },
    ]);
    expect(fileNames(vttime)).toEqual(TOPODATA_FILES);
    expect(missing.messageResponse?.$case).toBe('errorResponse');
    expect(missing.messageResponse?.value).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
  });

  it('v1 answers extension queries', async () => {
    const [numbers, byNumber, unknownNumber, unknownType] = await ask(stable.serverReflectionInfo(), [
      { host: '', messageRequest: { $case: 'allExtensionNumbersOfType', value: PROBE_MESSAGE } },
      {
        host: '',
        messageRequest: {
          $case: 'fileContainingExtension',
          value: { containingType: PROBE_MESSAGE, extensionNumber: 150 },
        },
      },
      {
        host: '',
        messageRequest: {
          $case: 'fileContainingExtension',
          value: { containingType: PROBE_MESSAGE, extensionNumber: 101 },
        },
      },
      { host: '', messageRequest: { $case: 'allExtensionNumbersOfType', value: 'topo.nope.Type' } },
    ]);
    expect(numbers.messageResponse).toEqual({
      $case: 'allExtensionNumbersResponse',
      value: { baseTypeName: PROBE_MESSAGE, extensionNumber: [100, 150] },
    });
    expect(fileNames(byNumber)[0]).toBe(PROBE_FILE);
    expect(unknownNumber.messageResponse?.value).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
    expect(unknownType.messageResponse?.value).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
  });

  it('v1 list_services names what the server registered', async () => {
    const [list] = await ask(stable.serverReflectionInfo(), [
      { host: '', messageRequest: { $case: 'listServices', value: '' } },
    ]);
    expect(list.messageResponse).toEqual({
      $case: 'listServicesResponse',
      value: {
        service: [
          { name: 'grpc.health.v1.Health' },
          { name: 'grpc.reflection.v1.ServerReflection' },
          { name: 'grpc.reflection.v1alpha.ServerReflection' },
          { name: PROBE_SERVICE },
        ],
      },
    });
  });
});

describe('addReflection', () => {
  it('refuses a service the descriptor set does not declare', () => {
    expect(() =>
      addReflection(new grpc.Server(), {
        services: ['topo.nope.v1.Missing'],
        descriptorSet: readDescriptorSet(),
      }),
    ).toThrow('services not in the descriptor set: topo.nope.v1.Missing');
  });
});
