import { TopoErrorCode } from '../errors';
import { type ConformanceHarness, codeOf, nextWithin, sleep, useStore } from './harness';

/** Vitess checkElection and checkWaitForNewLeader. */
export function electionChecks(harness: ConformanceHarness): void {
  const ctx = useStore(harness, { lockTtlSeconds: 2 });

  it('elects one leader; when it stops, the next participant takes over', async () => {
    const { store } = ctx();
    const first = store.newLeaderParticipation('vtctld', 'first');
    const second = store.newLeaderParticipation('vtctld', 'second');
    expect(await first.getCurrentLeaderId()).toBe('');
    const firstTerm = await first.waitForLeadership();
    expect(await second.getCurrentLeaderId()).toBe('first');
    let secondLeads = false;
    const secondTerm = second.waitForLeadership().then((signal) => {
      secondLeads = true;
      return signal;
    });
    await sleep(200);
    expect(secondLeads).toBe(false);
    await first.stop();
    expect(firstTerm.aborted).toBe(true);
    const term = await secondTerm;
    expect(term.aborted).toBe(false);
    expect(await first.getCurrentLeaderId()).toBe('second');
    await second.stop();
    expect(term.aborted).toBe(true);
    expect(await second.getCurrentLeaderId()).toBe('');
  });

  it('tells the leader at once when its leadership is lost', async () => {
    const { store } = ctx();
    const leader = store.newLeaderParticipation('vtctld', 'leader');
    const term = await leader.waitForLeadership();
    const lost = new Promise<void>((resolve) => term.addEventListener('abort', () => resolve(), { once: true }));
    const [entry] = await store.list('elections/vtctld/locks/');
    await store.delete(entry.path, null);
    await lost;
    await leader.stop();
  });

  it('ends a wait for leadership with Interrupted when stopped', async () => {
    const { store } = ctx();
    const leader = store.newLeaderParticipation('vtctld', 'leader');
    const waiter = store.newLeaderParticipation('vtctld', 'waiter');
    await leader.waitForLeadership();
    const waiting = waiter.waitForLeadership();
    await sleep(100);
    await waiter.stop();
    expect(await codeOf(waiting)).toBe(TopoErrorCode.Interrupted);
    expect(await leader.getCurrentLeaderId()).toBe('leader');
    await leader.stop();
  });

  it('streams each new leader to observers', async () => {
    const { store } = ctx();
    const first = store.newLeaderParticipation('vtctld', 'first');
    const second = store.newLeaderParticipation('vtctld', 'second');
    const observer = store.newLeaderParticipation('vtctld', 'observer');
    await first.waitForLeadership();
    const controller = new AbortController();
    const leaders = observer.waitForNewLeader(controller.signal)[Symbol.asyncIterator]();
    expect((await nextWithin(leaders)).value).toBe('first');
    const secondTerm = second.waitForLeadership();
    await first.stop();
    await secondTerm;
    expect((await nextWithin(leaders)).value).toBe('second');
    controller.abort();
    expect(await codeOf(nextWithin(leaders))).toBe(TopoErrorCode.Interrupted);
    await second.stop();
  });
}
