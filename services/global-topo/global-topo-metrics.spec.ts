import { Metadata, credentials, status } from '@grpc/grpc-js';
import {
  GlobalTopoServiceClient,
  GlobalTopoServiceService,
  LockKind,
  WatchLeaderResponse,
  type LockResponse,
} from '../../libs/proto/gen/topo/global/v1/global';
import { call, codeOf, StreamReader } from '../../libs/testing/grpc-call';
import { sample, startObserved, type ObservedServer } from '../../libs/testing/observed';
import { until } from '../../libs/testing/until';
import { globalTopoServices } from './global-topo-wiring';

let served: ObservedServer;
let client: GlobalTopoServiceClient;

const scrape = async (): Promise<string> => {
  const res = await fetch(`${served.httpBase}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
};
const SERVICE = 'topo.global.v1.GlobalTopoService';

afterEach(async () => {
  client?.close();
  await served?.stop();
});

describe('global-topo /metrics', () => {
  beforeEach(async () => {
    served = await startObserved({
      program: 'global-topo',
      cell: 'global',
      root: '/topo/global',
      services: (store, tracker, observability) => globalTopoServices(store, tracker, observability),
    });
    client = new GlobalTopoServiceClient(served.address, credentials.createInsecure());
  });

  it('counts RPCs by method and code and store operations by operation and cell', async () => {
    await call(client.createKeyspace.bind(client), { name: 'commerce', keyspace: undefined });
    expect(await codeOf(call(client.getKeyspace.bind(client), { name: 'missing' }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call(client.getKeyspace.bind(client), { name: 'bad name!' }))).toBe(status.INVALID_ARGUMENT);
    const text = await scrape();
    const rpc = (method: string, code: string) =>
      sample(text, 'topo_grpc_server_handled_total', { grpc_service: SERVICE, grpc_method: method, grpc_type: 'unary', grpc_code: code });
    expect(rpc('CreateKeyspace', 'OK')).toBe(1);
    expect(rpc('GetKeyspace', 'NOT_FOUND')).toBe(1);
    expect(rpc('GetKeyspace', 'INVALID_ARGUMENT')).toBe(1);
    expect(sample(text, 'topo_grpc_server_started_total', { grpc_method: 'GetKeyspace' })).toBe(2);
    expect(sample(text, 'topo_grpc_server_handling_seconds_count', { grpc_method: 'GetKeyspace' })).toBe(2);
    // The refused name never reached the store: one Get, and it failed with NoNode.
    expect(sample(text, 'topo_store_operations_total', { operation: 'Get', cell: 'global' })).toBe(1);
    expect(sample(text, 'topo_store_errors_total', { operation: 'Get', cell: 'global', code: 'NoNode' })).toBe(1);
    expect(sample(text, 'topo_store_operation_duration_seconds_count', { operation: 'Get', cell: 'global' })).toBe(1);
    expect(sample(text, 'topo_backend_up', { backend: 'memory' })).toBe(1);
    // Standard process metrics stay under their usual names.
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('shows a lock stream in flight and the lock held, with its age, until the stream ends', async () => {
    await call(client.createKeyspace.bind(client), { name: 'ks', keyspace: undefined });
    const stream = new StreamReader<LockResponse>(
      client.lock(
        { target: { kind: LockKind.LOCK_KIND_KEYSPACE, keyspace: 'ks', shard: '', name: '', path: '' }, holder: 'ops', action: 'Reparent', waitTimeout: undefined, tryOnly: false },
        new Metadata(),
      ),
    );
    expect((await stream.next()).event?.$case).toBe('granted');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    let text = await scrape();
    expect(sample(text, 'topo_grpc_server_streams_in_flight', { grpc_service: SERVICE, grpc_method: 'Lock' })).toBe(1);
    expect(sample(text, 'topo_locks_held')).toBe(1);
    expect(sample(text, 'topo_lock_oldest_held_age_seconds')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'topo_lock_wait_seconds_count', { outcome: 'granted' })).toBe(1);
    stream.cancel();
    await until('lock released', async () => sample(await scrape(), 'topo_locks_held') === 0);
    text = await scrape();
    expect(sample(text, 'topo_grpc_server_streams_in_flight', { grpc_method: 'Lock' })).toBe(0);
    expect(sample(text, 'topo_grpc_server_handled_total', { grpc_method: 'Lock', grpc_code: 'CANCELLED' })).toBe(1);
    expect(sample(text, 'topo_store_operations_total', { operation: 'Unlock', cell: 'global' })).toBe(1);
  });
});

describe('RPC interceptors and pre-framed stream writes', () => {
  // A stream that writes gRPC frames straight to the HTTP/2 stream, below grpc-js's
  // message path, as the watch fan-out does: the interceptors see only its start and status.
  interface Layer {
    nextCall?: Layer;
    stream?: { write(chunk: Buffer): boolean };
  }
  const http2StreamOf = (callObject: unknown): { write(chunk: Buffer): boolean } => {
    let layer = (callObject as { call: Layer }).call;
    while (!layer.stream && layer.nextCall) layer = layer.nextCall;
    if (!layer.stream) throw new Error('no HTTP/2 stream under the call');
    return layer.stream;
  };

  beforeEach(async () => {
    served = await startObserved({
      program: 'global-topo',
      cell: 'global',
      root: '/test',
      services: () => [
        {
          name: SERVICE,
          definition: GlobalTopoServiceService,
          implementation: {
            watchLeader: (streamCall: { sendMetadata(m: Metadata): void; end(): void }) => {
              streamCall.sendMetadata(new Metadata());
              const stream = http2StreamOf(streamCall);
              for (const leaderId of ['one', 'two', 'three']) {
                const payload = Buffer.from(WatchLeaderResponse.encode({ leaderId }).finish());
                const header = Buffer.alloc(5);
                header.writeUInt32BE(payload.length, 1);
                stream.write(Buffer.concat([header, payload]));
              }
              streamCall.end();
            },
          },
        },
      ],
    });
    client = new GlobalTopoServiceClient(served.address, credentials.createInsecure());
  });

  it('counts a stream whose messages bypass grpc-js, with its status', async () => {
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.watchLeader({ election: 'e' });
      stream.on('data', (m: WatchLeaderResponse) => got.push(m.leaderId));
      stream.on('status', (s: { code: number }) => (s.code === status.OK ? resolve() : reject(new Error(`status ${s.code}`))));
      stream.on('error', reject);
    });
    expect(got).toEqual(['one', 'two', 'three']);
    const text = await scrape();
    const labels = { grpc_service: SERVICE, grpc_method: 'WatchLeader', grpc_type: 'server_stream' };
    expect(sample(text, 'topo_grpc_server_handled_total', { ...labels, grpc_code: 'OK' })).toBe(1);
    expect(sample(text, 'topo_grpc_server_streams_in_flight', { grpc_service: SERVICE, grpc_method: 'WatchLeader' })).toBe(0);
  });
});
