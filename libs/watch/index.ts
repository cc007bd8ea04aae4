export { WatchHub } from './watch-hub';
export type { WatchHubOptions, HubLog } from './hub-options';
export type { WatchHubStats, PrefixStats } from './hub-stats';
export type {
  BatchMessage,
  BookmarkMessage,
  HubDelete,
  HubEvent,
  HubFilter,
  HubMessage,
  HubPut,
  MarkerMessage,
  SnapshotMessage,
  SubscribeOptions,
  Subscription,
} from './messages';
export { encodeOnce } from './encode-once';
