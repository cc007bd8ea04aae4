/**
 * cell-topo: one cell's tablets, replication graph and serving graph, and the watches
 * routers subscribe to, over the cell's etcd cluster.
 *
 *   cell-topo --cell zone1 --global-topo 127.0.0.1:15999 --etcd-endpoints http://127.0.0.1:2479
 */
import { ConfigError, parseWorkers, runService } from '../../libs/server';
import { validateCellName } from '../../libs/topo';
import { observedCellTopoServices } from './cell-status';

export const CELL_TOPO_DEFAULTS = {
  listen: '127.0.0.1:16000',
  root: (extra: Record<string, string | undefined>) => `/topo/${extra.cell ?? ''}`,
  extra: {
    cell: { env: 'TOPO_CELL', help: 'the cell this process serves (required)' },
    'global-topo': { env: 'TOPO_GLOBAL_ADDRESS', help: "global-topo's address, host:port (required)" },
    'tablet-ttl': { env: 'TOPO_TABLET_TTL', help: 'default tablet liveness TTL, seconds (default 10, 1 to 60)', default: '10' },
    workers: {
      env: 'TOPO_WORKERS',
      help: "processes serving the port, each with its own watch hub: 1 to 64, or 'auto' for every core (default 1)",
      default: '1',
    },
  },
};

if (require.main === module) {
  void runService({
    program: 'cell-topo',
    defaults: CELL_TOPO_DEFAULTS,
    validate: (config) => {
      const { cell, 'global-topo': global, 'tablet-ttl': ttl } = config.extra;
      if (!cell) throw new ConfigError('--cell (or $TOPO_CELL) is required');
      try {
        validateCellName(cell, '--cell');
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
      if (!global || !/^[^:]+:\d+$/.test(global)) throw new ConfigError('--global-topo (or $TOPO_GLOBAL_ADDRESS) must be host:port');
      const seconds = Number(ttl);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw new ConfigError(`--tablet-ttl must be 1 to 60 seconds, got ${ttl}`);
      parseWorkers(config.extra.workers);
    },
    workers: (config) => parseWorkers(config.extra.workers),
    cell: (config) => config.extra.cell!,
    services: (store, tracker, config, observability) =>
      observedCellTopoServices(
        store,
        tracker,
        {
          cell: config.extra.cell!,
          globalAddress: config.extra['global-topo']!,
          defaultTabletTtlSeconds: Number(config.extra['tablet-ttl']),
          // Under mTLS this process calls global-topo with its own certificate, checked against the same CA.
          globalTls: config.tls?.ca ? { ca: config.tls.ca, cert: config.tls.cert, key: config.tls.key } : undefined,
        },
        observability,
      ),
  });
}
