import { runCellFailureDrill } from './cell-failure-drill';

describe('drill: a whole cell SIGKILLed (3 cells, one global etcd member and global-topo replica each)', () => {
  it('the other cells keep registering tablets, taking and fencing locks and writing the global topology; the cell catches up on return', async () => {
    const figures = await runCellFailureDrill({ outageMs: 8000 });
    for (const [kind, { attempts, ok }] of Object.entries(figures.operations)) {
      expect([kind, attempts > 0 && ok === attempts]).toEqual([kind, true]);
    }
    expect(Object.keys(figures.operations).sort()).toEqual(['RegisterTablet', 'UpdateKeyspace', 'shard lock + fenced write']);
    expect(figures.routerStreamErrors).toBe(0);
    expect(figures.registrationsNotSeen).toBe(0);
    expect(figures.failedCellCaughtUp).toBe(true);
  }, 180_000);
});
