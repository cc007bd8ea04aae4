import { Etcd3 } from 'etcd3';
import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { sample, startObserved, type ObservedServer } from '../../testing/observed';
import { until } from '../../testing/until';

const etcd = useEtcdCluster({ members: 1 });

describe('etcd alarms on /metrics and /debug/status', () => {
  let served: ObservedServer | undefined;
  afterEach(async () => served?.stop());

  it("shows a NOSPACE alarm raised through etcd's maintenance API, and its disarming", async () => {
    served = await startObserved({ program: 'global-topo', cell: 'global', backend: 'etcd', endpoints: etcd().endpoints, root: '/alarms', services: () => [] });
    const scrape = async (): Promise<string> => (await fetch(`${served!.httpBase}/metrics`)).text();
    const nospace = async (): Promise<number | undefined> => sample(await scrape(), 'topo_backend_alarms', { backend: 'etcd', alarm: 'NOSPACE' });
    expect(await nospace()).toBe(0);
    expect(sample(await scrape(), 'topo_backend_up', { backend: 'etcd' })).toBe(1);

    const client = new Etcd3({ hosts: etcd().endpoints });
    try {
      const { header } = await client.maintenance.status();
      await client.maintenance.alarm({ action: 'Activate', memberID: header.member_id, alarm: 'Nospace' });
      await until('alarm on /metrics', async () => (await nospace()) === 1);
      const status = (await (await fetch(`${served.httpBase}/debug/status.json`)).json()) as { backend: { alarms: string[] } };
      expect(status.backend.alarms).toEqual([`NOSPACE on etcd member ${BigInt(header.member_id).toString(16)}`]);

      await client.maintenance.alarm({ action: 'Deactivate', memberID: header.member_id, alarm: 'Nospace' });
      await until('alarm cleared on /metrics', async () => (await nospace()) === 0);
    } finally {
      client.close();
    }
  });
});
