export { WatchHub } from './watch-hub';
export type { WatchHubOptions, HubLog } from './hub-options';
export type { WatchHubStats, PrefixStats } from './hub-stats';
export type {
  BatchesMessage,
  BatchMessage,
  BookmarkMessage,
  HubDelete,
  HubEvent,
  HubFilter,
  HubMessage,
  HubPut,
  HubSink,
  PushSubscription,
  SinkMessage,
  StatusMessage,
  MarkerMessage,
  SnapshotMessage,
  SubscribeOptions,
  Subscription,
} from './messages';
export { encodeOnce } from './encode-once';
