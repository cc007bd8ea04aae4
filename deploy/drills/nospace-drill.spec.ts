import { status } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as Status } from '../../libs/proto/gen/grpc/health/v1/health';
import { runNoSpaceDrill } from './nospace-drill';

describe('drill: a full etcd (NOSPACE)', () => {
  it('refuses writes with RESOURCE_EXHAUSTED naming NOSPACE, still deletes and unregisters, and recovers after compact, defrag and disarm', async () => {
    const figures = await runNoSpaceDrill({ quotaBytes: 3 * 1024 * 1024, tablets: 6 });
    expect(figures.refusedCode).toBe(status.RESOURCE_EXHAUSTED);
    expect(figures.refusedMessage).toMatch(/NOSPACE/);
    expect(figures.overallWhileFull).toBe(Status.SERVING);
    expect(figures.writesWhileFull).toBe(Status.NOT_SERVING);
    expect(figures.listedWhileFull).toBe(6);
    expect(figures.deletedWhileFull).toBe(3);
    expect(figures.unregisteredWhileFull).toBe(3);
    expect(figures.recoveryWriteMs).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
