import { status } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { runQuorumLossDrill } from './quorum-loss-drill';

describe('drill: quorum loss (2 of 3 etcd members SIGKILLed)', () => {
  it('bounds every RPC, answers UNAVAILABLE or DEADLINE_EXCEEDED, reports NOT_SERVING, and writes again after the restart', async () => {
    const figures = await runQuorumLossDrill({ rounds: 2, clientDeadlineMs: 30_000 });
    expect(figures.unbounded).toBe(0);
    for (const [rpc, slowest] of Object.entries(figures.slowestMs)) {
      expect([rpc, slowest < 12_000]).toEqual([rpc, true]);
    }
    for (const [rpc, codes] of Object.entries(figures.codes)) {
      expect([rpc, codes.every((code) => code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED)]).toEqual([rpc, true]);
    }
    expect(figures.healthDuringOutage).toBe(Status.NOT_SERVING);
    expect(figures.writesBackMs).toBeGreaterThanOrEqual(0);
  }, 180_000);
});
