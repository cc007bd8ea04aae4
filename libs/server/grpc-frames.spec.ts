import {
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  credentials,
  makeGenericClientConstructor,
  type ClientReadableStream,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { Logger } from './logger';
import { TopoError, TopoErrorCode } from '../store';
import { acceptFramed, grpcFrame, grpcInternals } from './grpc-frames';
import { pushStream, type CallTracker, type PushStream } from './handlers';

const raw = (value: Buffer): Buffer => value;
const definition: ServiceDefinition = {
  stream: {
    path: '/test.Frames/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};
const Client = makeGenericClientConstructor(definition, 'Frames');

function tracker(): CallTracker {
  return {
    shuttingDown: new AbortController().signal,
    log: new Logger({}, 'error'),
    onShutdown: () => undefined,
    addReadinessCheck: () => undefined,
    onStoreReachability: () => undefined,
  };
}

async function serve(open: (stream: PushStream, writer: { direct?: boolean }) => void, interceptors: ServerInterceptor[] = []) {
  const server = new Server({ interceptors });
  const seen: { direct?: boolean } = {};
  server.addService(acceptFramed(definition), {
    stream: pushStream(tracker(), 'Stream', (_req, stream) => open(stream, seen)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    seen,
    client,
    call: (): ClientReadableStream<Buffer> =>
      (client as unknown as { stream(req: Buffer): ClientReadableStream<Buffer> }).stream(Buffer.alloc(0)),
    stop: async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

function collect(call: ClientReadableStream<Buffer>): Promise<{ messages: string[]; error?: Error }> {
  const messages: string[] = [];
  return new Promise((resolve) => {
    call.on('data', (message: Buffer) => messages.push(message.toString()));
    call.on('error', (error: Error) => resolve({ messages, error }));
    call.on('end', () => resolve({ messages }));
  });
}

describe('framed writes below grpc-js', () => {
  it('finds the internals it relies on in the installed grpc-js (fails when an upgrade removes them)', () => {
    expect(grpcInternals()).toEqual({ available: true });
  });

  it('writes one shared frame straight to each HTTP/2 stream, also behind an interceptor', async () => {
    const shared = grpcFrame([Buffer.from('hello '), Buffer.from('world')]);
    const passThrough: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
    for (const interceptors of [[], [passThrough]]) {
      const server = await serve((stream, seen) => {
        seen.direct = stream.direct;
        stream.write(shared);
        stream.write(grpcFrame([Buffer.from('second')]));
        stream.end();
      }, interceptors);
      try {
        const results = await Promise.all([collect(server.call()), collect(server.call())]);
        for (const result of results) expect(result).toEqual({ messages: ['hello world', 'second'] });
        expect(server.seen.direct).toBe(true);
      } finally {
        await server.stop();
      }
    }
  });

  it('reports a full transport, drains once the bytes are out, and an error ends the call after every frame', async () => {
    let writes = 0;
    let sawFull = false;
    let drained: () => void = () => undefined;
    const drainedOnce = new Promise<void>((resolve) => (drained = resolve));
    const frame = grpcFrame([Buffer.alloc(1024, 'x')]);
    const server = await serve((stream) => {
      stream.onDrain(() => {
        stream.end(new TopoError(TopoErrorCode.ResourceExhausted, 'enough'));
        drained();
      });
      while (stream.write(frame)) writes += 1;
      sawFull = true;
    });
    try {
      // Synchronous writes fill the HTTP/2 stream's buffer (16 KiB) whatever the client does.
      const result = collect(server.call());
      await drainedOnce;
      expect(sawFull).toBe(true);
      expect(writes).toBeGreaterThan(0);
      const { messages, error } = await result;
      // Every frame written, the one that filled the transport included, then the status.
      expect(messages.length).toBe(writes + 1);
      expect((error as Error & { code: number }).code).toBe(8);
    } finally {
      await server.stop();
    }
  });
});
