import { status } from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { HealthService as HealthDefinition } from '../../proto/gen/grpc/health/v1/health';
import { CellTopoServiceService } from '../../proto/gen/topo/cell/v1/cell';
import { GlobalTopoServiceService } from '../../proto/gen/topo/global/v1/global';
import { PathServiceService } from '../../proto/gen/topo/path/v1/path';
import { openStore } from '../../store';
import { Authorizer, AuthzPolicy, PolicyError, RULES, storeLookups } from '.';

const policy = AuthzPolicy.parse(
  JSON.stringify({
    identities: [
      { match: 'spiffe://x/operator/*', roles: ['operator'] },
      { match: 'spiffe://x/router/*', roles: ['router'] },
      { match: 'spiffe://x/tablet/{alias}', roles: ['tablet'] },
      { match: 'db-7', roles: ['tablet'], tablets: ['zone1-100', 'zone2-0000000007'] },
    ],
  }),
);

describe('AuthzPolicy', () => {
  it('grants roles by exact identity or pattern, and the aliases a tablet identity names', () => {
    expect([...policy.grantOf('spiffe://x/operator/alice').roles]).toEqual(['operator']);
    expect(policy.grantOf('spiffe://x/operator/a/b').roles.size).toBe(0); // * stops at /
    expect([...policy.grantOf('spiffe://x/tablet/zone1-100').tablets]).toEqual(['zone1-0000000100']);
    expect([...policy.grantOf('db-7').tablets]).toEqual(['zone1-0000000100', 'zone2-0000000007']);
    expect(policy.grantOf('spiffe://x/tablet/not-an-alias').roles.size).toBe(0);
    expect(policy.grantOf(undefined).roles.size).toBe(0);
    expect(policy.grantOf('db-7x').roles.size).toBe(0);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an unknown role', '{"identities":[{"match":"a","roles":["admin"]}]}', /unknown role "admin"/],
    ['a tablet naming no alias', '{"identities":[{"match":"a","roles":["tablet"]}]}', /must name its aliases/],
    ['aliases without the tablet role', '{"identities":[{"match":"a","roles":["router"],"tablets":["zone1-1"]}]}', /go with the tablet role/],
    ['a bad alias', '{"identities":[{"match":"a","roles":["tablet"],"tablets":["zone1"]}]}', /not a tablet alias/],
    ['an unknown field', '{"identities":[{"match":"a","roles":["router"],"role":"x"}]}', /unknown field "role"/],
    ['no identities list', '{"rules":[]}', /unknown field "rules"/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => AuthzPolicy.parse(text)).toThrow(PolicyError);
    expect(() => AuthzPolicy.parse(text)).toThrow(message);
  });
});

describe('the rule table', () => {
  it.each([
    ['topo.global.v1.GlobalTopoService', GlobalTopoServiceService],
    ['topo.cell.v1.CellTopoService', CellTopoServiceService],
    ['topo.path.v1.PathService', PathServiceService],
    ['grpc.health.v1.Health', HealthDefinition],
  ] as Array<[string, ServiceDefinition]>)('has a rule for every method of %s', (_name, definition) => {
    const missing = Object.values(definition).map((m) => m.path).filter((path) => !RULES.has(path));
    expect(missing).toEqual([]);
  });
});

describe('Authorizer', () => {
  const store = openStore({ backend: 'memory', root: '/authz' });
  const authorizer = new Authorizer({ policy: () => policy, lookups: storeLookups(store), cell: 'zone1' });
  const decide = (method: string, identity: string | undefined, request: unknown = {}) =>
    authorizer.decide(method, identity, request, { registrationAllowed: false });

  it('refuses a method without a rule, and a caller without identity', async () => {
    expect(await decide('/topo.global.v1.GlobalTopoService/Shiny', 'spiffe://x/operator/alice')).toMatchObject({ code: status.PERMISSION_DENIED });
    expect(await decide('/topo.global.v1.GlobalTopoService/ListKeyspaces', undefined)).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await decide('/grpc.health.v1.Health/Check', undefined)).toBeUndefined();
  });

  it('lets tablets read only their own cell', async () => {
    expect(await decide('/topo.cell.v1.CellTopoService/ListTablets', 'spiffe://x/tablet/zone1-5')).toBeUndefined();
    expect(await decide('/topo.cell.v1.CellTopoService/ListTablets', 'spiffe://x/tablet/zone2-5')).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it('answers INVALID_ARGUMENT for an alias it cannot read, before any handler', async () => {
    const denial = await decide('/topo.cell.v1.CellTopoService/UpdateTabletFields', 'db-7', { alias: 'zone1/..' });
    expect(denial).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('allows everything without a policy', async () => {
    const open = new Authorizer({ policy: () => undefined, lookups: storeLookups(store) });
    expect(await open.decide('/topo.cell.v1.CellTopoService/DeleteTablet', undefined, {}, { registrationAllowed: false })).toBeUndefined();
  });
});
