import { HealthCheckResponse_ServingStatus, healthCheckResponse_ServingStatusToJSON } from '../../proto/gen/grpc/health/v1/health';
import type { Command, CommandContext } from './command';
import { codeName, describeError, isServiceError } from './grpc-errors';

const GLOBAL_SERVICES = ['topo.global.v1.GlobalTopoService', 'topo.path.v1.PathService'];
const CELL_SERVICES = ['topo.cell.v1.CellTopoService', 'topo.path.v1.PathService'];

interface Target {
  name: string;
  address: string;
  services: string[];
  /** Why the address is not known (the cell could not be looked up). */
  error?: unknown;
}

interface Row {
  target: string;
  address: string;
  service: string;
  status: string;
  error: string | null;
}

/** Global-topo, then the cell(s): --cell-address, --cell, or every registered cell. */
async function targets(ctx: CommandContext): Promise<{ targets: Target[]; listError?: unknown }> {
  const global: Target = { name: 'global', address: ctx.settings.globalAddress, services: GLOBAL_SERVICES };
  const { cell, cellAddress } = ctx.settings;
  if (cellAddress !== undefined) return { targets: [global, { name: cell ?? 'cell', address: cellAddress, services: CELL_SERVICES }] };
  let cells: string[];
  try {
    cells = cell !== undefined ? [cell] : await ctx.topo.cells();
  } catch (err) {
    return { targets: [global], listError: err };
  }
  const resolved = await Promise.all(
    cells.map(async (name): Promise<Target> => {
      try {
        return { name, address: await ctx.topo.cellAddress(name), services: CELL_SERVICES };
      } catch (err) {
        return { name, address: '', services: CELL_SERVICES, error: err };
      }
    }),
  );
  return { targets: [global, ...resolved] };
}

async function check(ctx: CommandContext, target: Target, service: string): Promise<Row> {
  const row = { target: target.name, address: target.address, service };
  if (target.error !== undefined) {
    return { ...row, status: isServiceError(target.error) ? codeName(target.error.code) : 'UNKNOWN', error: describeError(target.error) };
  }
  try {
    const client = ctx.topo.health(target.address);
    const res = await ctx.topo.call(client.check.bind(client), { service });
    return { ...row, status: healthCheckResponse_ServingStatusToJSON(res.status), error: null };
  } catch (err) {
    return { ...row, status: isServiceError(err) ? codeName(err.code) : 'UNKNOWN', error: describeError(err) };
  }
}

export const healthCommand: Command = {
  name: 'health',
  summary: 'Check grpc.health.v1 of global-topo and of each cell-topo',
  description: [
    'Checks global-topo and the cell named by --cell or --cell-address, or else every',
    'registered cell, service by service. Exits 1 unless every one is SERVING.',
  ].join('\n'),
  examples: ['topoctl health', 'topoctl health --cell zone1 --json'],
  async run(ctx) {
    const found = await targets(ctx);
    const rows = await Promise.all(found.targets.flatMap((t) => t.services.map((service) => check(ctx, t, service))));
    const serving = healthCheckResponse_ServingStatusToJSON(HealthCheckResponse_ServingStatus.SERVING);
    ctx.out.result(
      { serving: found.listError === undefined && rows.every((r) => r.status === serving), services: rows },
      () => ctx.out.table(['target', 'address', 'service', 'status'], rows.map((r) => [r.target, r.address, r.service, r.status])),
    );
    // One line per distinct failure: an unreachable server fails each of its services alike.
    const failures = new Set(rows.filter((r) => r.error !== null).map((r) => `${r.target} (${r.address || 'no address'}): ${r.error}`));
    for (const failure of failures) ctx.out.error(failure);
    if (found.listError !== undefined) ctx.out.error(`cannot list the cells: ${describeError(found.listError)}`);
    return found.listError === undefined && rows.every((r) => r.status === serving) ? 0 : 1;
  },
};
