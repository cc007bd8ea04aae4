import { runStreamCancelDrill } from './stream-cancel-drill';

describe('drill: 1,000 streams cancelled abruptly', () => {
  it('returns etcd watchers and leases to their baseline once the client is SIGKILLed', async () => {
    const figures = await runStreamCancelDrill({ rounds: 1, tabletWatches: 600, pathWatches: 300, locks: 100 });
    expect(figures.streamsCancelled).toBe(1000);
    // What was open counted: each queued Lock stream holds a lease in etcd.
    expect(figures.minLocksQueued).toBeGreaterThan(0);
    expect(figures.peak.leases).toBeGreaterThanOrEqual(figures.baseline.leases + figures.minLocksQueued);
    expect(figures.peak.watchers).toBeGreaterThan(figures.baseline.watchers);
    expect(figures.after.watchers).toBeLessThanOrEqual(figures.baseline.watchers);
    expect(figures.after.leases).toBeLessThanOrEqual(figures.baseline.leases);
  }, 180_000);
});
