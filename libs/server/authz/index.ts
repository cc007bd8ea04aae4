export { AuthzPolicy, PolicyError, ROLES, type Role, type Grant } from './policy';
export { PolicyFile } from './policy-file';
export { Authorizer, type AuthorizerOptions, type Denial, type OwnershipLookups } from './authorizer';
export { storeLookups } from './ownership';
export { authorizationInterceptor } from './interceptor';
export { RULES, isWrite, type Rule } from './rules';
