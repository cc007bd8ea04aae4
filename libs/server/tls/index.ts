export { ReloadingServerCredentials, DEFAULT_RELOAD_INTERVAL_MS, type ServerTlsFiles } from './server-credentials';
export { identityOf, type AuthContextLike } from './peer-identity';
