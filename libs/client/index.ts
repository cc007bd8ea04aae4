/** The SDK tablets, routers and operators use. */
export { TabletAgent, type TabletAgentOptions, type TabletAgentEvent } from './tablet-agent';
export { RouterView, type RouterViewOptions, type TabletViewChange } from './router-view';
export { CellTablets, type TabletEntry, type CellTabletsStats } from './cell-tablets';
export { GlobalView, type GlobalViewOptions } from './global-view';
export { unaryCall, type UnaryMethod } from './unary-call';
export { Backoff } from './backoff';
export { SrvKeyspaceWatch } from './srv-keyspace-watch';
export { channelCredentials, type ClientTlsFiles } from './channel-credentials';
export { globalTopoClient, cellTopoClient, type Promised, type TypedClientOptions } from './typed-client';
export { allPages } from './all-pages';
