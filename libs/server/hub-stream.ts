import type { SinkMessage, SubscribeOptions, WatchHub } from '../watch';
import type { PushStream } from './handlers';

/**
 * Connects a hub subscription to a pushed gRPC stream: each message the hub sends becomes
 * the frames `framesOf` returns (memoized by the caller wherever subscribers share them),
 * written at once; a full stream makes the hub wait for 'drain', then send what it missed
 * merged. The subscription ends the stream (OK when closed, else its error's status) and
 * ends with it.
 */
export function relayHub(
  hub: WatchHub,
  dirs: string | readonly string[],
  options: SubscribeOptions,
  stream: PushStream,
  framesOf: (message: SinkMessage) => readonly Buffer[],
): void {
  const subscription = hub.watch(dirs, options, {
    send(message) {
      let writable = true;
      for (const frame of framesOf(message)) writable = stream.write(frame);
      return writable;
    },
    end(error) {
      stream.end(error);
    },
  });
  stream.onDrain(() => subscription.resume());
}
