import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { sample } from '../../testing/observed';
import { BackendHealth } from './backend-health';

const etcd = useEtcdCluster({ members: 1 });

describe('etcd alarms', () => {
  it("reports a raised NOSPACE alarm from etcd's maintenance API, and its disarming", async () => {
    const client = new Etcd3({ hosts: etcd().endpoints });
    const health = new BackendHealth('etcd', etcd().endpoints, 60_000);
    const registry = new Registry();
    health.register(registry);
    try {
      await health.checkAlarms();
      expect(health.view().alarms).toEqual([]);
      expect(sample(await registry.metrics(), 'topo_backend_alarms', { backend: 'etcd', alarm: 'NOSPACE' })).toBe(0);

      const { header } = await client.maintenance.status();
      await client.maintenance.alarm({ action: 'Activate', memberID: header.member_id, alarm: 'Nospace' });
      await health.checkAlarms();
      expect(health.view().alarms).toEqual([{ member: BigInt(header.member_id).toString(16), alarm: 'NOSPACE' }]);
      const text = await registry.metrics();
      expect(sample(text, 'topo_backend_alarms', { backend: 'etcd', alarm: 'NOSPACE' })).toBe(1);
      expect(sample(text, 'topo_backend_alarm_query_failing', { backend: 'etcd' })).toBe(0);

      await client.maintenance.alarm({ action: 'Deactivate', memberID: header.member_id, alarm: 'Nospace' });
      await health.checkAlarms();
      expect(health.view().alarms).toEqual([]);
    } finally {
      await health.close();
      client.close();
    }
  });

  it('says the alarms are unknown when etcd cannot be asked', async () => {
    const health = new BackendHealth('etcd', ['http://127.0.0.1:9'], 60_000);
    const registry = new Registry();
    health.register(registry);
    try {
      await health.checkAlarms();
      expect(health.view().alarmError).toBeDefined();
      expect(sample(await registry.metrics(), 'topo_backend_alarm_query_failing', { backend: 'etcd' })).toBe(1);
    } finally {
      await health.close();
    }
  });
});
