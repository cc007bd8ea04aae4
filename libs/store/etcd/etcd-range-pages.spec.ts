import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { EtcdEngine } from './etcd-engine';

describe('etcd ranges read page by page', () => {
  const etcd = useEtcdCluster({ members: 1 });

  it('reads a whole prefix in pages at the revision of the first, so writes made meanwhile are not mixed in', async () => {
    const engine = new EtcdEngine({ endpoints: etcd().endpoints, rangePageKeys: 3 });
    const writer = new EtcdEngine({ endpoints: etcd().endpoints });
    try {
      const prefix = `/range-pages/${process.pid}/`;
      for (let i = 0; i < 10; i++) {
        await writer.txn({ compare: [], success: [{ type: 'put', key: `${prefix}k${i}`, value: Buffer.from('before') }] });
      }
      const { revision } = await engine.range(prefix, { prefix: true, keysOnly: true });
      await writer.txn({ compare: [], success: [{ type: 'put', key: `${prefix}k9`, value: Buffer.from('after') }] });
      await writer.txn({ compare: [], success: [{ type: 'delete', key: `${prefix}k0` }] });
      const atRevision = await engine.range(prefix, { prefix: true, revision });
      expect(atRevision.kvs.map((kv) => `${kv.key.slice(prefix.length)}=${Buffer.from(kv.value).toString()}`)).toEqual(
        Array.from({ length: 10 }, (_, i) => `k${i}=before`),
      );
      const now = await engine.range(prefix, { prefix: true });
      expect(now.kvs).toHaveLength(9);
      expect(now.kvs.find((kv) => kv.key.endsWith('k9'))?.value).toEqual(Buffer.from('after'));
      const page = await engine.range(prefix, { prefix: true, limit: 4, after: `${prefix}k3` });
      expect(page.kvs.map((kv) => kv.key.slice(prefix.length))).toEqual(['k4', 'k5', 'k6', 'k7']);
      expect(page.more).toBe(true);
    } finally {
      await engine.close();
      await writer.close();
    }
  });
});
