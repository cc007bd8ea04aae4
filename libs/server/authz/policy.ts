/**
 * The authorization policy: which certificate identities hold which roles, and which
 * tablet aliases a tablet identity names. JSON, read from `--authz-policy`:
 *
 *   {
 *     "identities": [
 *       { "match": "spiffe://example.org/operator/*", "roles": ["operator"] },
 *       { "match": "spiffe://example.org/router/*", "roles": ["router"] },
 *       { "match": "spiffe://example.org/tablet/{alias}", "roles": ["tablet"] },
 *       { "match": "db-7.example.org", "roles": ["tablet"], "tablets": ["zone1-100", "zone1-101"] }
 *     ]
 *   }
 *
 * `match` is the identity exactly, or a pattern: `*` stands for any run of characters
 * other than `/`, and `{alias}` (tablet entries only) for a tablet alias the identity
 * names, `<cell>-<uid>`. Every entry that matches applies: roles and aliases add up.
 */
import type { TabletAlias } from '../../proto';
import { parseTabletAlias, tabletAliasString } from '../../topo';

export const ROLES = ['tablet', 'router', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** What the policy grants one identity. */
export interface Grant {
  roles: ReadonlySet<Role>;
  /** The tablet aliases a tablet identity may register and update, as `<cell>-<10-digit uid>`. */
  tablets: ReadonlySet<string>;
}

export const NO_GRANT: Grant = { roles: new Set(), tablets: new Set() };

interface Entry {
  pattern: RegExp;
  /** True when the pattern captures an alias. */
  capturesAlias: boolean;
  roles: Set<Role>;
  tablets: string[];
}

export class PolicyError extends Error {}

const ALIAS_PATTERN = '([-_.a-zA-Z0-9]+-[0-9]+)';
const KEYS = new Set(['match', 'roles', 'tablets']);

function compile(match: string, where: string): { pattern: RegExp; capturesAlias: boolean } {
  const parts = match.split('{alias}');
  if (parts.length > 2) throw new PolicyError(`${where}.match: {alias} may appear once`);
  const literal = (text: string): string =>
    text.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return { pattern: new RegExp(`^${parts.map(literal).join(ALIAS_PATTERN)}$`), capturesAlias: parts.length === 2 };
}

export class AuthzPolicy {
  private constructor(private readonly entries: Entry[]) {}

  /** Parses and checks a policy; PolicyError names the field at fault. */
  static parse(text: string, source = 'policy'): AuthzPolicy {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new PolicyError(`${source}: not JSON: ${(err as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PolicyError(`${source}: must be an object with "identities"`);
    const unknown = Object.keys(json).filter((k) => k !== 'identities');
    if (unknown.length > 0) throw new PolicyError(`${source}: unknown field ${JSON.stringify(unknown[0])}`);
    const identities = (json as { identities?: unknown }).identities;
    if (!Array.isArray(identities)) throw new PolicyError(`${source}.identities: must be a list`);
    const entries = identities.map((raw: unknown, index): Entry => {
      const where = `${source}.identities[${index}]`;
      if (typeof raw !== 'object' || raw === null) throw new PolicyError(`${where}: must be an object`);
      const extra = Object.keys(raw).find((k) => !KEYS.has(k));
      if (extra) throw new PolicyError(`${where}: unknown field ${JSON.stringify(extra)}`);
      const { match, roles, tablets } = raw as { match?: unknown; roles?: unknown; tablets?: unknown };
      if (typeof match !== 'string' || match === '') throw new PolicyError(`${where}.match: must be a non-empty string`);
      if (!Array.isArray(roles) || roles.length === 0) throw new PolicyError(`${where}.roles: must list at least one of ${ROLES.join(', ')}`);
      for (const role of roles) {
        if (!ROLES.includes(role as Role)) throw new PolicyError(`${where}.roles: unknown role ${JSON.stringify(role)}; known: ${ROLES.join(', ')}`);
      }
      const roleSet = new Set(roles as Role[]);
      const { pattern, capturesAlias } = compile(match, where);
      if (tablets !== undefined && (!Array.isArray(tablets) || tablets.some((t) => typeof t !== 'string'))) {
        throw new PolicyError(`${where}.tablets: must be a list of tablet aliases`);
      }
      const aliases = ((tablets as string[] | undefined) ?? []).map((alias, i) => {
        try {
          return tabletAliasString(parseTabletAlias(alias, `${where}.tablets[${i}]`));
        } catch (err) {
          throw new PolicyError((err as Error).message);
        }
      });
      const namesTablets = capturesAlias || aliases.length > 0;
      if (roleSet.has('tablet') && !namesTablets) {
        throw new PolicyError(`${where}: a tablet identity must name its aliases: {alias} in match, or "tablets"`);
      }
      if (!roleSet.has('tablet') && namesTablets) throw new PolicyError(`${where}: {alias} and "tablets" go with the tablet role`);
      return { pattern, capturesAlias, roles: roleSet, tablets: aliases };
    });
    return new AuthzPolicy(entries);
  }

  /** What this identity is granted; nothing when no entry matches. */
  grantOf(identity: string | undefined): Grant {
    if (identity === undefined) return NO_GRANT;
    const roles = new Set<Role>();
    const tablets = new Set<string>();
    for (const entry of this.entries) {
      const match = entry.pattern.exec(identity);
      if (!match) continue;
      if (entry.capturesAlias) {
        let alias: TabletAlias;
        try {
          alias = parseTabletAlias(match[1]);
        } catch {
          continue;
        }
        tablets.add(tabletAliasString(alias));
      }
      for (const role of entry.roles) roles.add(role);
      for (const alias of entry.tablets) tablets.add(alias);
    }
    return { roles, tablets };
  }
}
