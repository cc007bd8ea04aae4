import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Tablet } from '../../proto';
import {
  WatchMessageKind,
  type CellTopoServiceClient,
  type TabletChange,
  type WatchTabletsRequest,
  type WatchTabletsResponse,
} from '../../proto/gen/topo/cell/v1/cell';
import { Backoff, sleep } from '../backoff';
import { codeName, isServiceError } from './grpc-errors';

export type TabletState = 'alive' | 'not-alive' | 'removed';

export interface TabletEvent {
  revision: string;
  alias: string;
  state: TabletState;
  /** The record as last known; undefined when only the liveness has been seen. */
  tablet: Tablet | undefined;
  /** Part of the state when the watch (re)started rather than a change after it. */
  snapshot: boolean;
}

interface Known {
  tablet: Tablet | undefined;
  alive: boolean;
}

/** Codes after which the same request can succeed later: reconnect and resume. */
const RETRYABLE = new Set<number>([
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
  status.INTERNAL,
  status.UNKNOWN,
]);

/**
 * Follows one cell's WatchTablets until `signal` aborts, turning its messages into one event
 * per tablet change. After a disconnect it resumes from the last revision it applied (the
 * server replays exactly the missed changes); told that revision left the history
 * (OUT_OF_RANGE), it re-lists and reports only what differs from what it had reported.
 * Rejects on an error no retry can cure (a bad filter, an unknown method).
 */
export async function followTablets(options: {
  client: CellTopoServiceClient;
  filter: Omit<WatchTabletsRequest, 'fromRevision'>;
  signal: AbortSignal;
  onEvent: (event: TabletEvent) => void;
  onNote: (text: string) => void;
  backoff?: { minMs: number; maxMs: number };
}): Promise<void> {
  const { client, filter, signal, onEvent, onNote } = options;
  const known = new Map<string, Known>();
  const backoff = new Backoff(options.backoff?.minMs ?? 200, options.backoff?.maxMs ?? 5000);
  let revision = 0n;
  let synced = false;
  let pending: Map<string, Known> | undefined;
  // Parts of a transaction too large for one message, applied at its last part.
  let partial: TabletChange[] = [];
  let unreachable = false;

  const emit = (alias: string, state: TabletState, tablet: Tablet | undefined, at: bigint, snapshot: boolean): void =>
    onEvent({ revision: at.toString(), alias, state, tablet, snapshot });

  const apply = (message: WatchTabletsResponse): void => {
    const at = BigInt(message.revision);
    switch (message.kind) {
      case WatchMessageKind.WATCH_MESSAGE_KIND_SNAPSHOT:
        pending ??= new Map();
        for (const change of message.changes) {
          if (!change.removed) pending.set(change.alias, merged(pending.get(change.alias), change));
        }
        return;
      case WatchMessageKind.WATCH_MESSAGE_KIND_MARKER: {
        const next = pending ?? new Map<string, Known>();
        pending = undefined;
        // After a re-list only the differences are news; the first time everything is.
        for (const [alias, before] of known) {
          if (!next.has(alias)) emit(alias, 'removed', before.tablet, at, true);
        }
        for (const alias of [...next.keys()].sort()) {
          const now = next.get(alias)!;
          if (!sameState(known.get(alias), now)) emit(alias, now.alive ? 'alive' : 'not-alive', now.tablet, at, true);
        }
        known.clear();
        for (const [alias, entry] of next) known.set(alias, entry);
        revision = at;
        synced = true;
        return;
      }
      case WatchMessageKind.WATCH_MESSAGE_KIND_CHANGES: {
        if (at <= revision) return;
        if (message.continued) {
          partial.push(...message.changes);
          return;
        }
        const changes = [...partial, ...message.changes];
        partial = [];
        // A message can carry several transactions (the watch fell behind): each change
        // reports its own revision.
        for (const change of changes) {
          const changedAt = BigInt(change.version) > 0n ? BigInt(change.version) : at;
          if (change.removed) {
            emit(change.alias, 'removed', known.get(change.alias)?.tablet ?? change.tablet, changedAt, false);
            known.delete(change.alias);
          } else {
            const now = merged(known.get(change.alias), change);
            known.set(change.alias, now);
            emit(change.alias, now.alive ? 'alive' : 'not-alive', now.tablet, changedAt, false);
          }
        }
        revision = at;
        return;
      }
      case WatchMessageKind.WATCH_MESSAGE_KIND_STATUS: {
        const since = message.backend?.unreachableSince;
        if (message.backend?.reachable === false && !unreachable) {
          onNote(
            `watch: cell-topo cannot reach its etcd${since ? ` since ${since.toISOString()}` : ''}; ` +
              `what follows is current to revision ${at} and may be stale`,
          );
        } else if (message.backend?.reachable !== false && unreachable) {
          onNote(`watch: cell-topo reaches its etcd again (revision ${at}); live`);
        }
        unreachable = message.backend?.reachable === false;
        if (synced && at > revision) revision = at;
        return;
      }
      case WatchMessageKind.WATCH_MESSAGE_KIND_BOOKMARK:
        if (at > revision) revision = at;
        return;
      default:
        return;
    }
  };

  while (!signal.aborted) {
    const fromRevision = synced ? revision + 1n : 0n;
    const outcome = await readStream(client, { ...filter, fromRevision: fromRevision.toString() }, signal, (message) => {
      backoff.reset();
      apply(message);
    });
    if (signal.aborted) return;
    pending = undefined;
    partial = [];
    if (outcome === 'ended') {
      onNote(`watch: stream ended; resuming from revision ${revision + 1n}`);
    } else if (outcome.code === status.OUT_OF_RANGE || (synced && outcome.code === status.INVALID_ARGUMENT)) {
      // The resume point is gone (history window passed, or a restarted cell-topo never saw it).
      onNote(`watch: cannot resume from revision ${revision + 1n} (${codeName(outcome.code)}); re-listing`);
      synced = false;
    } else if (RETRYABLE.has(outcome.code)) {
      onNote(`watch: disconnected (${codeName(outcome.code)}: ${outcome.details}); resuming from revision ${synced ? revision + 1n : 0n}`);
    } else {
      throw outcome;
    }
    await sleep(backoff.next(), signal);
  }
}

/** Resolves when the stream ends: 'ended' for a clean end, else its error. */
function readStream(
  client: CellTopoServiceClient,
  request: WatchTabletsRequest,
  signal: AbortSignal,
  onMessage: (message: WatchTabletsResponse) => void,
): Promise<'ended' | ServiceError> {
  return new Promise((resolve) => {
    const stream = client.watchTablets(request, new Metadata());
    const cancel = (): void => stream.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    let done = false;
    const finish = (outcome: 'ended' | ServiceError): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', cancel);
      resolve(outcome);
    };
    stream.on('data', onMessage);
    stream.on('error', (err: unknown) => finish(isServiceError(err) ? err : unknownError(err)));
    stream.on('end', () => finish('ended'));
    if (signal.aborted) cancel();
  });
}

function unknownError(err: unknown): ServiceError {
  return Object.assign(new Error(String(err)), { code: status.UNKNOWN, details: String(err), metadata: new Metadata() });
}

/** A tablet after a change: the record and the liveness each replaced only when given. */
function merged(current: Known | undefined, change: TabletChange): Known {
  return { tablet: change.tablet ?? current?.tablet, alive: change.alive ?? current?.alive ?? false };
}

function sameState(before: Known | undefined, after: Known): boolean {
  if (!before || before.alive !== after.alive) return false;
  const a = before.tablet;
  const b = after.tablet;
  return a?.type === b?.type && a?.keyspace === b?.keyspace && a?.shard === b?.shard && a?.hostname === b?.hostname;
}
