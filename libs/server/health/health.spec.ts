import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { readDescriptorSet } from '../../proto';
import {
  HealthClient,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from '../../proto/gen/grpc/health/v1/health';
import { grpcurl, startGrpcurl } from '../../testing/grpcurl';
import { addReflection } from '../reflection';
import { addHealth, HEALTH_SERVICE_NAME, HealthService, LIST_LIMIT, ServingStatus } from '.';

let server: grpc.Server;
let address: string;
let client: HealthClient;
let health: HealthService;

async function startServer(): Promise<void> {
  health = new HealthService();
  server = new grpc.Server();
  addHealth(server, health);
  addReflection(server, { services: [HEALTH_SERVICE_NAME], descriptorSet: readDescriptorSet() });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  address = `127.0.0.1:${port}`;
  client = new HealthClient(address, grpc.credentials.createInsecure());
}

beforeEach(startServer);

afterEach(() => {
  client.close();
  server.forceShutdown();
});

/** The statuses grpcurl printed, in order. */
function printedStatuses(stdout: string): string[] {
  return [...stdout.matchAll(/"status": "([A-Z_]+)"/g)].map((match) => match[1]);
}

function check(service: string): Promise<HealthCheckResponse> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, response) => (err ? reject(err) : resolve(response))),
  );
}

/** Collects Watch messages until `count` have arrived. */
function watchUntil(
  stream: grpc.ClientReadableStream<HealthCheckResponse>,
  count: number,
): Promise<ServingStatus[]> {
  const seen: ServingStatus[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (response: HealthCheckResponse) => {
      seen.push(response.status);
      if (seen.length === count) resolve(seen);
    });
    stream.on('error', reject);
    stream.on('end', () => reject(new Error(`stream ended after ${JSON.stringify(seen)}`)));
  });
}

describe('grpc.health.v1.Health through the real grpcurl', () => {
  it('Check with an empty service name reports the server SERVING', async () => {
    const result = await grpcurl(address, ['grpc.health.v1.Health/Check'], { data: '{"service":""}' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: 'SERVING' });
  });

  it('Check of an unknown service fails with NOT_FOUND', async () => {
    const result = await grpcurl(address, ['grpc.health.v1.Health/Check'], {
      data: { service: 'topo.nope.v1.Missing' },
    });
    expect(result.code).toBe(64 + grpc.status.NOT_FOUND);
    expect(result.stderr).toContain('Code: NotFound');
  });

  it('Watch sends the current status, then every change while the stream is open', async () => {
    const watch = startGrpcurl(address, ['grpc.health.v1.Health/Watch'], { data: { service: '' } });
    try {
      await watch.waitFor('"SERVING"');
      health.setStatus('', ServingStatus.NOT_SERVING);
      await watch.waitFor('"NOT_SERVING"');
      health.setStatus('', ServingStatus.SERVING);
      await watch.waitFor(/SERVING[\s\S]*NOT_SERVING[\s\S]*"SERVING"/);
    } finally {
      await watch.stop();
    }
    expect(printedStatuses(watch.stdout())).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });

  it('Watch of an unknown service says SERVICE_UNKNOWN and stays open until it is known', async () => {
    const watch = startGrpcurl(address, ['grpc.health.v1.Health/Watch'], {
      data: { service: 'topo.cell.v1.CellTopo' },
    });
    try {
      await watch.waitFor('"SERVICE_UNKNOWN"');
      health.setStatus('topo.cell.v1.CellTopo', ServingStatus.SERVING);
      await watch.waitFor('"SERVING"');
    } finally {
      await watch.stop();
    }
    expect(printedStatuses(watch.stdout())).toEqual(['SERVICE_UNKNOWN', 'SERVING']);
  });
});

describe('HealthService', () => {
  it('reports per-service statuses to Check and List', async () => {
    health.setStatus('topo.global.v1.GlobalTopo', ServingStatus.NOT_SERVING);
    expect(await check('topo.global.v1.GlobalTopo')).toEqual({ status: ServingStatus.NOT_SERVING });
    expect(await check('')).toEqual({ status: ServingStatus.SERVING });
    const listed = await new Promise((resolve, reject) =>
      client.list({}, (err, response) => (err ? reject(err) : resolve(response))),
    );
    expect(listed).toEqual({
      statuses: {
        '': { status: ServingStatus.SERVING },
        'topo.global.v1.GlobalTopo': { status: ServingStatus.NOT_SERVING },
      },
    });
  });

  it(`List refuses with RESOURCE_EXHAUSTED beyond ${LIST_LIMIT} services`, async () => {
    for (let i = 0; i < LIST_LIMIT; i += 1) health.setStatus(`svc${i}`, ServingStatus.SERVING);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.list({}, (error) => resolve(error)),
    );
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('does not resend a status that did not change', async () => {
    const stream = client.watch({ service: '' });
    const statuses = watchUntil(stream, 2);
    await waitForWatchers(1);
    health.setStatus('', ServingStatus.SERVING);
    health.setStatus('', ServingStatus.NOT_SERVING);
    health.setStatus('', ServingStatus.NOT_SERVING);
    expect(await statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    stream.cancel();
  });

  it('forgets a watcher once its client cancels', async () => {
    const stream = client.watch({ service: '' });
    stream.on('error', () => undefined);
    await watchUntil(stream, 1);
    expect(health.watchCount).toBe(1);
    stream.cancel();
    await waitForWatchers(0);
  });

  it('shutdown marks everything NOT_SERVING, ends Watch streams and ignores later updates', async () => {
    health.setStatus('topo.cell.v1.CellTopo', ServingStatus.SERVING);
    const stream = client.watch({ service: 'topo.cell.v1.CellTopo' });
    const seen: ServingStatus[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (response: HealthCheckResponse) => seen.push(response.status));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    await waitForWatchers(1);
    health.shutdown();
    await ended;
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    health.setStatus('', ServingStatus.SERVING);
    expect(await check('')).toEqual({ status: ServingStatus.NOT_SERVING });
    expect(health.watchCount).toBe(0);
  });

  it('keeps only the latest status for a watcher that is not reading', () => {
    const local = new HealthService();
    const call = new FakeWatchCall('');
    local.implementation.watch(call.asGrpc());
    expect(call.written).toEqual([ServingStatus.SERVING]);

    call.full = true;
    local.setStatus('', ServingStatus.NOT_SERVING);
    expect(call.written).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    // The stream is now full: these wait, and only the last survives.
    local.setStatus('', ServingStatus.SERVING);
    local.setStatus('', ServingStatus.UNKNOWN);
    expect(call.written).toHaveLength(2);

    call.full = false;
    call.emit('drain');
    expect(call.written).toEqual([
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
      ServingStatus.UNKNOWN,
    ]);
  });
});

async function waitForWatchers(count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (health.watchCount !== count) {
    if (Date.now() > deadline) throw new Error(`${health.watchCount} watchers, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The part of a grpc-js server stream the Watch handler uses, with a switchable full buffer. */
class FakeWatchCall extends EventEmitter {
  readonly written: ServingStatus[] = [];
  full = false;
  readonly request: HealthCheckRequest;

  constructor(service: string) {
    super();
    this.request = { service };
  }

  write(message: HealthCheckResponse): boolean {
    this.written.push(message.status);
    return !this.full;
  }

  end(): void {
    this.emit('finish');
  }

  asGrpc(): grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse> {
    return this as unknown as grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  }
}
