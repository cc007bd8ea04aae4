import type { GlobalView } from '../../libs/client/global-view';
import { Tablet } from '../../libs/proto';
import type * as api from '../../libs/proto/gen/topo/cell/v1/cell';
import { bidiStream, invalidArgument, requireRevision, unary, wireVersion, type CallTracker, type HandlerContext } from '../../libs/server';
import { parseTabletAlias, type CellTopology } from '../../libs/topo';
import { checkTabletInGlobal } from './global-check';

function ttlSecondsOf(ttl: api.Registration['ttl']): number | undefined {
  if (!ttl) return undefined;
  const seconds = Number(ttl.seconds);
  if (ttl.nanos !== 0 || !Number.isInteger(seconds)) throw invalidArgument('registration.ttl', 'must be whole seconds');
  return seconds;
}

function duration(seconds: number): { seconds: string; nanos: number } {
  return { seconds: String(seconds), nanos: 0 };
}

/**
 * Registration: a tablet's record plus its liveness lease, kept alive by the tablet
 * (heartbeats on the Register stream, or KeepAlive calls). A stream that breaks without a
 * goodbye leaves the lease to its TTL, so a cell-topo restart removes no live tablet.
 */
export function registrationHandlers(topo: CellTopology, view: GlobalView, tracker: CallTracker) {
  const register = async (registration: api.Registration | undefined, ctx: HandlerContext): Promise<api.Registered> => {
    if (!registration) throw invalidArgument('registration', 'is required');
    if (!registration.tablet) throw invalidArgument('registration.tablet', 'is required');
    const tablet = Tablet.fromPartial(registration.tablet);
    checkTabletInGlobal(view, tablet);
    const leaseId = registration.leaseId === '0' ? undefined : requireRevision('registration.lease_id', registration.leaseId);
    const result = await topo.registry.register(tablet, {
      session: registration.session,
      ttlSeconds: ttlSecondsOf(registration.ttl),
      takeover: registration.takeover,
      leaseId,
      identity: ctx.identity,
    });
    return {
      leaseId: result.leaseId.toString(),
      ttl: duration(result.ttlSeconds),
      revision: wireVersion(result.revision),
    };
  };

  return {
    register: bidiStream<api.RegisterRequest, api.RegisterResponse>(tracker, 'Register', async (requests, write, ctx) => {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done) return;
      if (first.value.event?.$case !== 'register') throw invalidArgument('event', 'the first message must be register');
      const registration = first.value.event.value;
      const registered = await register(registration, ctx);
      await write({ event: { $case: 'registered', value: registered } });
      const leaseId = BigInt(registered.leaseId);
      const tablet = Tablet.fromPartial(registration.tablet!);
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const event = next.value.event;
        if (event?.$case === 'heartbeat') {
          await write({ event: { $case: 'keptAlive', value: { ttl: duration(await topo.registry.keepAlive(leaseId)) } } });
        } else if (event?.$case === 'unregister') {
          await topo.registry.unregister(tablet.alias!, registration.session);
          return;
        } else {
          throw invalidArgument('event', 'after register, only heartbeat and unregister');
        }
      }
      // The client half-closed: a graceful goodbye. A broken stream lands here aborted and
      // leaves the lease to its TTL.
      if (!ctx.signal.aborted) await topo.registry.unregister(tablet.alias!, registration.session);
    }),
    registerTablet: unary<api.RegisterTabletRequest, api.RegisterTabletResponse>(tracker, 'RegisterTablet', async (req, ctx) => {
      return { registered: await register(req.registration, ctx) };
    }),
    keepAlive: unary<api.KeepAliveRequest, api.KeepAliveResponse>(tracker, 'KeepAlive', async (req) => ({
      ttl: duration(await topo.registry.keepAlive(requireRevision('lease_id', req.leaseId))),
    })),
    unregister: unary<api.UnregisterRequest, api.UnregisterResponse>(tracker, 'Unregister', async (req) => {
      await topo.registry.unregister(parseTabletAlias(req.alias, 'alias'), req.session);
      return {};
    }),
  };
}
