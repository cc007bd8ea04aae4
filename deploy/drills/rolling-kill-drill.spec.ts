import { runRollingKillDrill } from './rolling-kill-drill';

describe('drill: rolling SIGKILL of a 3-member etcd', () => {
  it('loses no acknowledged write, invents no value, shows each change once in order, and no abandoned lock write commits', async () => {
    const figures = await runRollingKillDrill({ durationMs: 16_000, killEveryMs: 4000, writers: 3, lockWriters: 3, lockDeadlineMs: 10_000 });
    expect(figures.kills).toBeGreaterThanOrEqual(3);
    expect(figures.ackedWrites).toBeGreaterThan(100);
    expect(figures.lostWrites).toBe(0);
    expect(figures.foreignValues).toBe(0);
    expect(figures.duplicateOrReordered).toBe(0);
    expect(figures.lateCommits).toBe(0);
    expect(figures.lockWrites).toBeGreaterThan(20);
    expect(figures.lockSuccessPercent).toBeGreaterThanOrEqual(95);
  }, 120_000);
});
