export { EtcdCluster } from './etcd-cluster';
export type { EtcdClusterOptions, EtcdTlsFiles } from './cluster-options';
export { EtcdMemberExitedError, type EtcdMember } from './etcd-member';
export { MISSING_ETCD_HINT } from './etcd-binary';
