import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3';
import type { KeyValue, WatchEvent, WatchOptions, WatchResponse } from '../engine';
import { TopoError, TopoErrorCode, interrupted } from '../errors';
import { Channel } from './channel';
import { prefixEnd } from './key-range';

type Item =
  | { kind: 'data'; response: IWatchResponse }
  | { kind: 'broken'; error: unknown }
  | { kind: 'aborted' };

// Pause the gRPC stream when the consumer falls this far behind; resume once it catches up.
const PAUSE_AT = 256;
const RESUME_AT = 16;
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: new Uint8Array(kv.value ?? Buffer.alloc(0)),
    createRevision: BigInt(kv.create_revision || '0'),
    modRevision: BigInt(kv.mod_revision || '0'),
    version: BigInt(kv.version || '0'),
    lease: BigInt(kv.lease || '0'),
  };
}

/**
 * A watch over etcd's raw Watch stream that owns its position: it remembers the next
 * revision it must deliver, reconnects from exactly there after any stream failure (etcd
 * restart, member loss, network), drops anything it already delivered, and ends with
 * Compacted when etcd no longer has that revision. etcd3's own watcher hides compaction
 * as a bare "Watcher canceled" and loses its place on reconnect; this one does neither.
 */
export async function* watchEtcd(
  client: Etcd3,
  key: string,
  options: WatchOptions,
  currentRevision: () => Promise<bigint>,
): AsyncGenerator<WatchResponse> {
  const { signal } = options;
  const keyBytes = Buffer.from(key, 'utf8');
  const rangeEnd = options.prefix ? prefixEnd(keyBytes) : undefined;
  let next = options.startRevision ?? (await currentRevision()) + 1n;
  let retryMs = 0;

  for (;;) {
    if (signal?.aborted) throw interrupted(`watch ${key}`);
    if (retryMs > 0) await sleep(retryMs + Math.random() * retryMs, signal, key);
    retryMs = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, retryMs * 2));

    const channel = new Channel<Item>();
    const onAbort = (): void => channel.push({ kind: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
    let paused = false;
    try {
      stream = await client.watchClient.watch();
      // Every listener stays attached until the stream is gone: an 'error' without a
      // listener would crash the process.
      stream.on('data', (response) => {
        channel.push({ kind: 'data', response });
        if (!paused && channel.length >= PAUSE_AT) {
          paused = true;
          flowControl(stream).pause?.();
        }
      });
      stream.on('error', (error) => channel.push({ kind: 'broken', error }));
      stream.on('end', () => channel.push({ kind: 'broken', error: new Error('watch stream ended') }));
      stream.write({
        create_request: {
          key: keyBytes,
          range_end: rangeEnd,
          start_revision: next.toString(),
          progress_notify: options.progressNotify ?? false,
        },
      });

      for (;;) {
        const item = await channel.shift();
        if (paused && channel.length <= RESUME_AT) {
          paused = false;
          flowControl(stream).resume?.();
        }
        if (item.kind === 'aborted') throw interrupted(`watch ${key}`);
        if (item.kind === 'broken') break;
        const response = item.response;
        const compactRevision = BigInt(response.compact_revision || '0');
        if (compactRevision > 0n) {
          throw new TopoError(
            TopoErrorCode.Compacted,
            `watch ${key}: revision ${next} is compacted (oldest available ${compactRevision})`,
          );
        }
        if (response.canceled) break;
        if (response.created) {
          retryMs = 0;
          continue;
        }
        if (response.events.length === 0) {
          const revision = BigInt(response.header.revision);
          if (revision + 1n >= next) {
            next = revision + 1n;
            yield { revision, events: [] };
          }
          continue;
        }
        for (const batch of byRevision(response)) {
          if (batch.revision < next) continue;
          next = batch.revision + 1n;
          yield batch;
        }
      }
    } catch (err) {
      if (err instanceof TopoError) throw err;
      // Opening the stream failed: retry like a broken stream.
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Half-close first: etcd3 treats the CANCELLED of a stream still writable as a broken
      // connection and closes every client of the host under calls in flight.
      stream?.end();
      stream?.cancel();
    }
  }
}

function byRevision(response: IWatchResponse): WatchResponse[] {
  const batches: WatchResponse[] = [];
  for (const event of response.events) {
    const kv = toKeyValue(event.kv);
    const watchEvent: WatchEvent = { type: event.type === 'Delete' ? 'delete' : 'put', kv };
    const last = batches[batches.length - 1];
    if (last && last.revision === kv.modRevision) last.events.push(watchEvent);
    else batches.push({ revision: kv.modRevision, events: [watchEvent] });
  }
  return batches;
}

function flowControl(stream: unknown): { pause?: () => void; resume?: () => void } {
  return stream as { pause?: () => void; resume?: () => void };
}

function sleep(ms: number, signal: AbortSignal | undefined, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interrupted(`watch ${key}`));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
