import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ChangeType, type PathServiceClient, type WatchRecursiveResponse } from '../../proto/gen/topo/path/v1/path';
import { Backoff, sleep } from '../backoff';
import { codeName, isServiceError } from './grpc-errors';
import { decode, type Decoded } from './path-commands';

export interface PathEvent {
  revision: string;
  change: 'put' | 'delete';
  path: string;
  version: string;
  decoded: Decoded;
  /** Part of the state when the watch (re)started rather than a change after it. */
  snapshot: boolean;
}

/** Codes after which the same request can succeed later: reconnect and resume. */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.CANCELLED, status.DEADLINE_EXCEEDED, status.ABORTED, status.INTERNAL, status.UNKNOWN, status.RESOURCE_EXHAUSTED]);

/**
 * Follows PathService.WatchRecursive on `path` until `signal` aborts: the snapshot, then
 * each change, every file decoded as `cat` decodes it. After a disconnect it resumes from
 * the last revision seen (the server replays what was missed); when that revision has left
 * the history (OUT_OF_RANGE) it starts over from a fresh snapshot and says so.
 */
export async function followPath(options: {
  client: PathServiceClient;
  path: string;
  signal: AbortSignal;
  onEvent: (event: PathEvent) => void;
  onNote: (text: string) => void;
}): Promise<void> {
  const { client, path, signal, onEvent, onNote } = options;
  const backoff = new Backoff(200, 5000);
  /** The last revision applied whole: a snapshot or transaction in parts counts once its last part is in. */
  let revision: bigint | undefined;
  let unreachable = false;
  while (!signal.aborted) {
    const from = revision === undefined ? 0n : revision + 1n;
    const err = await new Promise<ServiceError | undefined>((resolve) => {
      const stream = client.watchRecursive({ path, fromRevision: from.toString() }, new Metadata());
      const abort = (): void => stream.cancel();
      signal.addEventListener('abort', abort, { once: true });
      stream.on('data', (message: WatchRecursiveResponse) => {
        backoff.reset();
        if (message.backend !== undefined) {
          const since = message.backend.unreachableSince;
          if (!message.backend.reachable && !unreachable) {
            onNote(`the server cannot reach its backend${since ? ` since ${since.toISOString()}` : ''}; what follows is current to revision ${message.revision} and may be stale`);
          } else if (message.backend.reachable && unreachable) {
            onNote(`the server reaches its backend again (revision ${message.revision}); live`);
          }
          unreachable = !message.backend.reachable;
          return;
        }
        // A part of a snapshot or of a large transaction is not a point to resume from.
        if (!message.continued) revision = BigInt(message.revision);
        for (const change of message.changes) {
          onEvent({
            revision: message.revision,
            change: change.type === ChangeType.CHANGE_TYPE_DELETE ? 'delete' : 'put',
            path: change.path,
            version: change.version,
            decoded: change.type === ChangeType.CHANGE_TYPE_DELETE ? { type: 'deleted', value: null } : decode(change.path, change.contents),
            snapshot: message.snapshot,
          });
        }
      });
      stream.on('error', (e: ServiceError) => {
        signal.removeEventListener('abort', abort);
        resolve(e);
      });
      stream.on('end', () => {
        signal.removeEventListener('abort', abort);
        resolve(undefined);
      });
    });
    if (signal.aborted) return;
    if (err !== undefined && err.code === status.OUT_OF_RANGE && revision !== undefined) {
      onNote(`revision ${from} has left the server's history (OUT_OF_RANGE); starting again from a snapshot`);
      revision = undefined;
      continue;
    }
    if (err !== undefined && !RETRYABLE.has(err.code)) throw err;
    const why = err === undefined ? 'the stream ended' : `${codeName(err.code)}: ${isServiceError(err) ? err.details : String(err)}`;
    onNote(`disconnected (${why}); ${revision === undefined ? 'retrying' : `resuming from revision ${revision + 1n}`}`);
    await sleep(backoff.next(), signal);
  }
}
