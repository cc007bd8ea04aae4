import { status } from '@grpc/grpc-js';
import type { TabletAlias } from '../../proto';
import { parseTabletAlias, tabletAliasString, validateTabletAlias } from '../../topo';
import type { AuthzPolicy, Grant } from './policy';
import { RULES, type AliasField, type RegistrationClaim, type Rule } from './rules';

/** A refusal: the status the caller gets, and why (sent as its details). */
export interface Denial {
  code: status;
  details: string;
}

/** What the authorizer must read from the store to judge ownership. */
export interface OwnershipLookups {
  /** The live registration of a tablet, or undefined when it is not alive. */
  registration(alias: TabletAlias): Promise<{ session: string; leaseId: bigint; identity?: string } | undefined>;
  /** The identity recorded for a lock, or undefined when none was. */
  lockHolder(lockId: string): Promise<string | undefined>;
}

/** Per-call state: a Register stream is judged by its first message. */
export interface CallState {
  registrationAllowed: boolean;
}

export interface AuthorizerOptions {
  /** The policy now in force (it may be reloaded between calls); undefined: no role checks. */
  policy: () => AuthzPolicy | undefined;
  lookups: OwnershipLookups;
  /** cell-topo's cell: tablets read only their own cell's topology. */
  cell?: string;
}

const deny = (details: string): Denial => ({ code: status.PERMISSION_DENIED, details });

/**
 * Decides each request against the policy and the rule table: undefined to let it through,
 * else the denial. Roles: an operator may do everything; a router may read and watch; a
 * tablet may read (on a cell-topo, its own cell) and register, keep alive, unregister and
 * update only the aliases its identity names.
 */
export class Authorizer {
  constructor(private readonly options: AuthorizerOptions) {}

  /** False without a policy: every caller (verified by mTLS, if it is on) may call anything. */
  get enforcing(): boolean {
    return this.options.policy() !== undefined;
  }

  async decide(method: string, identity: string | undefined, request: unknown, state: CallState): Promise<Denial | undefined> {
    const policy = this.options.policy();
    if (!policy) return undefined;
    const rule = RULES.get(method);
    if (!rule) return deny(`${method} has no authorization rule: refused`);
    if (rule.kind === 'public') return undefined;
    if (identity === undefined) return { code: status.UNAUTHENTICATED, details: 'a verified client certificate is required' };
    const grant = policy.grantOf(identity);
    if (grant.roles.size === 0) return deny(`identity ${identity} has no role in the authorization policy`);
    if (grant.roles.has('operator')) return undefined;
    return this.judge(rule, identity, grant, request, state, method);
  }

  private async judge(rule: Rule, identity: string, grant: Grant, request: unknown, state: CallState, method: string): Promise<Denial | undefined> {
    const name = method.slice(method.lastIndexOf('/') + 1);
    switch (rule.kind) {
      case 'read':
        if (grant.roles.has('router')) return undefined;
        if (this.options.cell === undefined || [...grant.tablets].some((alias) => cellOf(alias) === this.options.cell)) return undefined;
        return deny(`identity ${identity} names no tablet in cell ${this.options.cell}: it may not read it`);
      case 'operator':
        return deny(`${name} needs the operator role; identity ${identity} has ${[...grant.roles].join(', ')}`);
      case 'tablet':
        return this.ownsAlias(identity, grant, (rule.alias as (r: unknown) => AliasField)(request), name);
      case 'registration': {
        const claim = (rule.claim as (r: unknown) => RegistrationClaim | undefined)(request);
        if (claim === undefined) {
          return state.registrationAllowed ? undefined : deny(`${name}: the first message must be an allowed registration`);
        }
        const denial = (await this.ownsAlias(identity, grant, claim.alias, name)) ?? (await this.mayClaim(identity, claim, name));
        if (!denial) state.registrationAllowed = true;
        return denial;
      }
      case 'tablet-lease':
        return this.ownsLease(identity, grant, (rule.leaseId as (r: unknown) => string)(request), name);
      case 'lock-holder': {
        const lockId = (rule.lockId as (r: unknown) => string)(request);
        const holder = await this.options.lookups.lockHolder(lockId);
        if (holder === identity) return undefined;
        return deny(`${name}: lock ${lockId} was taken by ${holder ?? 'an unrecorded identity'}; only its holder or an operator may release it`);
      }
      case 'public':
        return undefined;
    }
  }

  private ownsAlias(identity: string, grant: Grant, field: AliasField, name: string): Denial | undefined {
    if (!grant.roles.has('tablet')) return deny(`${name} needs the tablet or operator role; identity ${identity} has ${[...grant.roles].join(', ')}`);
    let alias: string;
    try {
      alias = typeof field === 'string' ? tabletAliasString(parseTabletAlias(field, 'alias')) : tabletAliasString(validateTabletAlias(field, 'alias'));
    } catch (err) {
      return { code: status.INVALID_ARGUMENT, details: (err as Error).message };
    }
    if (grant.tablets.has(alias)) return undefined;
    return deny(`identity ${identity} may not act for tablet ${alias}: it names ${[...grant.tablets].join(', ') || 'no tablet'}`);
  }

  /** A live registration held by another identity: no takeover, no reuse of its session. */
  private async mayClaim(identity: string, claim: RegistrationClaim, name: string): Promise<Denial | undefined> {
    const alias = typeof claim.alias === 'string' ? parseTabletAlias(claim.alias, 'alias') : claim.alias!;
    const live = await this.options.lookups.registration(alias);
    if (!live || live.identity === identity) return undefined;
    if (!claim.takeover && claim.session !== live.session) return undefined; // the registry refuses it as held
    const holder = live.identity ?? 'a caller without a recorded identity';
    return deny(`${name}: tablet ${tabletAliasString(alias)} is registered by ${holder}; ${claim.takeover ? 'taking it over' : 'using its session'} needs that identity or an operator`);
  }

  private async ownsLease(identity: string, grant: Grant, leaseId: string, name: string): Promise<Denial | undefined> {
    if (!grant.roles.has('tablet')) return deny(`${name} needs the tablet or operator role; identity ${identity} has ${[...grant.roles].join(', ')}`);
    const registrations = await Promise.all([...grant.tablets].map((alias) => this.options.lookups.registration(parseTabletAlias(alias))));
    if (registrations.some((r) => r !== undefined && r.leaseId.toString() === leaseId && r.identity === identity)) return undefined;
    return deny(`${name}: lease ${leaseId} keeps no registration of identity ${identity} alive`);
  }
}

function cellOf(alias: string): string {
  return alias.slice(0, alias.lastIndexOf('-'));
}
