/**
 * Every RPC's authorization rule, in one table (docs/security.md). A method without a rule
 * is refused: a new RPC is closed until someone decides who may call it.
 */
import type { TabletAlias } from '../../proto';
import type * as cell from '../../proto/gen/topo/cell/v1/cell';
import type * as global from '../../proto/gen/topo/global/v1/global';

/** A tablet alias as the request carries it: a message, or text `<cell>-<uid>`. */
export type AliasField = TabletAlias | string | undefined;

/** What a tablet's request claims of a registration: whose alias, and whether it takes it over. */
export interface RegistrationClaim {
  alias: AliasField;
  session: string;
  takeover: boolean;
}

export type Rule =
  /** Anyone past the handshake: health and reflection describe no topology. */
  | { kind: 'public' }
  /** Routers, operators, and tablets (on a cell-topo, only tablets of that cell). */
  | { kind: 'read' }
  | { kind: 'operator' }
  /** Operators, or a tablet whose identity names the alias. */
  | { kind: 'tablet'; alias: (request: never) => AliasField }
  /**
   * As `tablet`, and a live registration held by another identity may not be taken over
   * (`takeover`) or reused by its session name: same identity or an operator only.
   * `undefined` from `claim`: a message bound to a registration already allowed on this stream.
   */
  | { kind: 'registration'; claim: (request: never) => RegistrationClaim | undefined }
  /** Operators, or the tablet identity that registered the lease. */
  | { kind: 'tablet-lease'; leaseId: (request: never) => string }
  /** Operators, or the identity that took the lock. */
  | { kind: 'lock-holder'; lockId: (request: never) => string };

const read: Rule = { kind: 'read' };
const operator: Rule = { kind: 'operator' };

const GLOBAL: Record<string, Rule> = {
  CreateKeyspace: operator,
  GetKeyspace: read,
  ListKeyspaces: read,
  UpdateKeyspace: operator,
  DeleteKeyspace: operator,
  CreateShard: operator,
  GetShard: read,
  ListShards: read,
  UpdateShardFields: operator,
  DeleteShard: operator,
  CreateCellInfo: operator,
  GetCellInfo: read,
  ListCellInfos: read,
  UpdateCellInfo: operator,
  DeleteCellInfo: operator,
  CreateCellsAlias: operator,
  GetCellsAlias: read,
  ListCellsAliases: read,
  UpdateCellsAlias: operator,
  DeleteCellsAlias: operator,
  GetVSchema: read,
  SaveVSchema: operator,
  DeleteVSchema: operator,
  GetRoutingRules: read,
  SaveRoutingRules: operator,
  RebuildKeyspaceGraph: operator,
  RebuildVSchemaGraph: operator,
  Lock: operator,
  AcquireLock: operator,
  ReleaseLock: { kind: 'lock-holder', lockId: (req: global.ReleaseLockRequest) => req.lockId },
  // Lock ids and fencing tokens are what a fenced write presents: not for every reader.
  ListLocks: operator,
  Campaign: operator,
  GetLeader: read,
  WatchLeader: read,
};

const CELL: Record<string, Rule> = {
  CreateTablet: { kind: 'tablet', alias: (req: cell.CreateTabletRequest) => req.tablet?.alias },
  GetTablet: read,
  ListTablets: read,
  UpdateTabletFields: { kind: 'tablet', alias: (req: cell.UpdateTabletFieldsRequest) => req.alias },
  // Deleting the record removes the tablet from the replication graph: an operator's act.
  DeleteTablet: operator,
  Register: {
    kind: 'registration',
    claim: (req: cell.RegisterRequest) =>
      req.event?.$case === 'register'
        ? { alias: req.event.value.tablet?.alias, session: req.event.value.session, takeover: req.event.value.takeover }
        : undefined,
  },
  RegisterTablet: {
    kind: 'registration',
    claim: (req: cell.RegisterTabletRequest) => ({
      alias: req.registration?.tablet?.alias,
      session: req.registration?.session ?? '',
      takeover: req.registration?.takeover ?? false,
    }),
  },
  KeepAlive: { kind: 'tablet-lease', leaseId: (req: cell.KeepAliveRequest) => req.leaseId },
  Unregister: {
    kind: 'registration',
    claim: (req: cell.UnregisterRequest) => ({ alias: req.alias, session: req.session, takeover: false }),
  },
  WatchTablets: read,
  GetShardReplication: read,
  GetSrvKeyspace: read,
  ListSrvKeyspaces: read,
  UpdateSrvKeyspace: operator,
  DeleteSrvKeyspace: operator,
  WatchSrvKeyspace: read,
  GetSrvVSchema: read,
  UpdateSrvVSchema: operator,
  WatchSrvVSchema: read,
};

const PATH: Record<string, Rule> = {
  // Where the service's keys live: what a Vitess topo.Conn asks for when it connects.
  GetRoot: read,
  ListDir: read,
  Get: read,
  GetVersion: read,
  List: read,
  Create: operator,
  Update: operator,
  Delete: operator,
  Watch: read,
  WatchRecursive: read,
};

const PUBLIC: Rule = { kind: 'public' };

function service(name: string, rules: Record<string, Rule>): Array<[string, Rule]> {
  return Object.entries(rules).map(([method, rule]) => [`/${name}/${method}`, rule]);
}

/** By full method path, `/<package>.<Service>/<Method>`. */
export const RULES: ReadonlyMap<string, Rule> = new Map([
  ...service('topo.global.v1.GlobalTopoService', GLOBAL),
  ...service('topo.cell.v1.CellTopoService', CELL),
  ...service('topo.path.v1.PathService', PATH),
  ...service('grpc.health.v1.Health', { Check: PUBLIC, Watch: PUBLIC, List: PUBLIC }),
  ...service('grpc.reflection.v1.ServerReflection', { ServerReflectionInfo: PUBLIC }),
  ...service('grpc.reflection.v1alpha.ServerReflection', { ServerReflectionInfo: PUBLIC }),
]);

/** True for the rules of calls that change the topology: these are logged with the caller. */
export function isWrite(rule: Rule | undefined): boolean {
  return rule !== undefined && rule.kind !== 'read' && rule.kind !== 'public';
}
