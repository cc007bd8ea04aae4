import type * as api from '../../libs/proto/gen/topo/global/v1/global';
import { serverStream, unary, wireVersion, type CallTracker } from '../../libs/server';
import type { Store } from '../../libs/store';
import { validateLockName, validateLockText } from '../../libs/topo';

/**
 * An election name: one or more '/'-separated segments, each a lock name (`vtctld`,
 * `<root>/vtorc`), so a topo.Conn serving a directory inside the root keeps its elections
 * apart from others'.
 */
function electionName(name: string): string {
  const segments = name.split('/');
  segments.forEach((segment, i) => validateLockName(segment, segments.length === 1 ? 'election' : `election (segment ${i + 1})`));
  return name;
}

/** Leader election over gRPC: a campaign lasts as long as its stream. */
export function electionHandlers(store: Store, tracker: CallTracker) {
  return {
    campaign: serverStream<api.CampaignRequest, api.CampaignResponse>(tracker, 'Campaign', async (req, write, ctx) => {
      const election = electionName(req.election);
      const id = validateLockText(req.id, 'id');
      const participation = store.newLeaderParticipation(election, id);
      const withdraw = (): void => void participation.stop();
      ctx.signal.addEventListener('abort', withdraw, { once: true });
      try {
        const term = await participation.waitForLeadership();
        const lock = participation.leadership();
        await write({
          event: { $case: 'elected', value: { id, lockId: lock?.path ?? '', fencingToken: wireVersion(lock?.token ?? 0n) } },
        });
        await new Promise<void>((resolve) => {
          if (term.aborted) resolve();
          else term.addEventListener('abort', () => resolve(), { once: true });
        });
        if (!ctx.signal.aborted) {
          await write({ event: { $case: 'lost', value: { reason: 'leadership lost: the lease ended or the key was removed' } } });
        }
      } finally {
        ctx.signal.removeEventListener('abort', withdraw);
        await participation.stop();
      }
    }),
    getLeader: unary<api.GetLeaderRequest, api.GetLeaderResponse>(tracker, 'GetLeader', async (req) => {
      const participation = store.newLeaderParticipation(electionName(req.election), '');
      try {
        return { leaderId: await participation.getCurrentLeaderId() };
      } finally {
        await participation.stop();
      }
    }),
    watchLeader: serverStream<api.WatchLeaderRequest, api.WatchLeaderResponse>(tracker, 'WatchLeader', async (req, write, ctx) => {
      const participation = store.newLeaderParticipation(electionName(req.election), '');
      try {
        for await (const leaderId of participation.waitForNewLeader(ctx.signal)) await write({ leaderId });
      } finally {
        await participation.stop();
      }
    }),
  };
}
