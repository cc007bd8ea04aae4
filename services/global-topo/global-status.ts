import type { StatusCell, StatusTable } from '../../libs/server';
import { formatAge } from '../../libs/server';
import { keyRangeString, tabletAliasString, type GlobalTopology } from '../../libs/topo';

/** Rows shown per table: the page stays readable and cheap whatever the topology's size. */
export const STATUS_ROW_LIMIT = 500;

const limited = (rows: StatusCell[][], total: number): { rows: StatusCell[][]; note?: string } =>
  total > rows.length ? { rows, note: `first ${rows.length} of ${total}` } : { rows };

/** global-topo's part of /debug/status: cells, keyspaces, shards with primaries, and every lock queue. */
export function globalStatus(topo: GlobalTopology, now: () => Date = () => new Date()): () => Promise<StatusTable[]> {
  return async () => {
    const [cellNames, keyspaceNames, locks] = await Promise.all([topo.cells.list(), topo.keyspaces.list(), topo.locks.allLocks()]);
    const cells = await Promise.all(cellNames.slice(0, STATUS_ROW_LIMIT).map((name) => topo.cells.get(name).then((r) => ({ name, info: r.cellInfo }))));
    const shardRows: string[][] = [];
    let shardCount = 0;
    for (const keyspace of keyspaceNames) {
      const shards = await topo.shards.findAll(keyspace);
      shardCount += shards.length;
      for (const record of shards) {
        if (shardRows.length >= STATUS_ROW_LIMIT) continue;
        const shard = record.shard;
        const term = shard.primaryTermStartTime?.seconds;
        shardRows.push([
          keyspace,
          record.name,
          keyRangeString(shard.keyRange),
          shard.primaryAlias ? tabletAliasString(shard.primaryAlias) : '(none)',
          term && term !== '0' ? new Date(Number(term) * 1000).toISOString() : '',
          shard.isPrimaryServing ? 'yes' : 'no',
        ]);
      }
    }
    const shown = locks.slice(0, STATUS_ROW_LIMIT);
    const ttls = await Promise.all(shown.map((lock) => (lock.leaseId === undefined ? -1 : topo.store.leaseTimeToLive(lock.leaseId).catch(() => -1))));
    const lockRows = shown.map((lock, i): StatusCell[] => {
      const asked = lock.contents?.time ? Date.parse(lock.contents.time) : NaN;
      const ttl = ttls[i]!;
      return [
        lock.path.replace(/\/locks\/[^/]+$/, ''),
        lock.held ? { text: 'held', tone: 'ok' } : { text: 'waiting', tone: 'bad' },
        lock.contents?.holder ?? lock.raw.slice(0, 80),
        lock.contents?.action ?? '',
        lock.contents ? `${lock.contents.hostname}:${lock.contents.pid}` : '',
        Number.isNaN(asked) ? '' : formatAge(now().getTime() - asked),
        ttl < 0 ? 'expired' : `${ttl}s`,
        lock.token.toString(),
      ];
    });
    return [
      {
        title: 'Cells',
        columns: ['cell', 'server address', 'root'],
        ...limited(cells.map((c) => [c.name, c.info.serverAddress, c.info.root]), cellNames.length),
      },
      { title: 'Keyspaces', columns: ['keyspace'], ...limited(keyspaceNames.slice(0, STATUS_ROW_LIMIT).map((k) => [k]), keyspaceNames.length) },
      {
        title: 'Shards',
        columns: ['keyspace', 'shard', 'key range', 'primary', 'primary since', 'serving'],
        ...limited(shardRows, shardCount),
      },
      {
        title: 'Locks',
        columns: ['lock', 'state', 'holder', 'action', 'host:pid', 'age', 'TTL left', 'fencing token'],
        ...limited(lockRows, locks.length),
      },
    ];
  };
}
