import type { BackendStatus } from '../proto/gen/topo/watch/v1/watch';
import type { SinkMessage, StatusMessage, SubscribeOptions, WatchHub } from '../watch';
import type { PushStream } from './handlers';

/**
 * Connects a hub subscription to a pushed gRPC stream: each message the hub sends becomes
 * the frames `framesOf` returns (memoized by the caller wherever subscribers share them),
 * written at once; a full stream makes the hub wait for 'drain', then send what it missed
 * merged. The subscription ends the stream (OK when closed, else its error's status) and
 * ends with it; `framesOf` may end it too (`end(error)`), after its frames.
 */
export function relayHub(
  hub: WatchHub,
  dirs: string | readonly string[],
  options: SubscribeOptions,
  stream: PushStream,
  framesOf: (message: SinkMessage, end: (error: unknown) => void) => readonly Buffer[],
): void {
  let ending: { error: unknown } | undefined;
  const end = (error: unknown): void => void (ending ??= { error });
  const subscription = hub.watch(dirs, options, {
    send(message) {
      let writable = true;
      for (const frame of framesOf(message, end)) writable = stream.write(frame);
      if (ending) {
        stream.end(ending.error);
        // The call is over; the subscription goes with it (it may still be starting).
        queueMicrotask(() => subscription.close());
        return false;
      }
      return writable;
    },
    end(error) {
      stream.end(error);
    },
  });
  stream.onDrain(() => subscription.resume());
}

/** The wire form of the hub's reachability message, shared by every watch's STATUS messages. */
export function backendStatusOf(message: StatusMessage): BackendStatus {
  return {
    reachable: message.live,
    unreachableSince: message.unreachableSince === undefined ? undefined : new Date(message.unreachableSince),
  };
}
