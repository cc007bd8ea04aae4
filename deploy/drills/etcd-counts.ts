import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';

/**
 * What a drill compares with its baseline: etcd watchers (from each member's /metrics)
 * and leases (LeaseLeases), summed over the members given.
 */
export interface EtcdCounts {
  watchers: number;
  leases: number;
}

export async function etcdCounts(endpoints: string[]): Promise<EtcdCounts> {
  let watchers = 0;
  for (const endpoint of endpoints) {
    const metrics = await (await fetch(`${endpoint}/metrics`)).text();
    const match = /^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(metrics);
    watchers += match ? Number(match[1]) : 0;
  }
  const client = new Etcd3({ hosts: endpoints, faultHandling: { global: noop, host: () => noop } });
  try {
    const leases = (await client.leaseClient.leaseLeases()).leases.length;
    return { watchers, leases };
  } finally {
    client.close();
  }
}
