import { status } from '@grpc/grpc-js';
import { CellInfo } from '../../proto';
import type { CommandContext, CommandGroup } from './command';
import { isServiceError } from './grpc-errors';

interface CellResult {
  name: string;
  version: string;
  cellInfo: CellInfo;
}

function cellJson(result: CellResult): unknown {
  return { name: result.name, version: result.version, cellInfo: CellInfo.toJSON(result.cellInfo) };
}

async function getCell(ctx: CommandContext, name: string): Promise<CellResult> {
  const g = ctx.topo.global;
  const res = await ctx.topo.call(g.getCellInfo.bind(g), { name });
  return { name, version: res.version, cellInfo: res.cellInfo ?? CellInfo.fromPartial({}) };
}

export const cellsCommands: CommandGroup = {
  name: 'cells',
  summary: "The registry of cells: where each cell's cell-topo serves",
  commands: [
    {
      name: 'list',
      summary: 'List the cells with their cell-topo address and root',
      examples: ['topoctl cells list'],
      async run(ctx) {
        const names = await ctx.topo.cells();
        const cells = await Promise.all(
          names.map((name) =>
            // A cell deleted between the list and the read is simply no longer listed.
            getCell(ctx, name).catch((err: unknown) => {
              if (isServiceError(err) && err.code === status.NOT_FOUND) return undefined;
              throw err;
            }),
          ),
        );
        const found = cells.filter((c): c is CellResult => c !== undefined);
        ctx.out.result(found.map(cellJson), () =>
          ctx.out.table(
            ['cell', 'address', 'root', 'version'],
            found.map((c) => [c.name, c.cellInfo.serverAddress, c.cellInfo.root, c.version]),
          ),
        );
      },
    },
    {
      name: 'get',
      summary: "Show a cell's CellInfo and its version",
      args: [{ name: 'NAME' }],
      examples: ['topoctl cells get zone1'],
      async run(ctx) {
        const cell = await getCell(ctx, ctx.args[0]);
        ctx.out.result(cellJson(cell), () =>
          ctx.out.fields([
            ['cell', cell.name],
            ['address', cell.cellInfo.serverAddress],
            ['root', cell.cellInfo.root],
            ['version', cell.version],
          ]),
        );
      },
    },
    {
      name: 'create',
      summary: 'Register a cell and where its cell-topo serves',
      args: [{ name: 'NAME' }],
      options: {
        address: { type: 'string', value: 'host:port', description: "the cell's cell-topo address (required)" },
        root: { type: 'string', value: 'PATH', description: "the cell's root in its etcd, e.g. /topo/zone1 (required)" },
      },
      examples: ['topoctl cells create zone1 --address 127.0.0.1:16000 --root /topo/zone1'],
      async run(ctx) {
        const name = ctx.args[0];
        const cellInfo = { serverAddress: ctx.required('address'), root: ctx.required('root') };
        const g = ctx.topo.global;
        const { version } = await ctx.topo.call(g.createCellInfo.bind(g), { name, cellInfo });
        ctx.out.result(cellJson({ name, version, cellInfo }), () =>
          ctx.out.line(`created cell ${name} at ${cellInfo.serverAddress} (version ${version})`),
        );
      },
    },
    {
      name: 'delete',
      summary: "Remove a cell from the registry (its cell-topo's data stays)",
      args: [{ name: 'NAME' }],
      options: {
        force: { type: 'boolean', description: 'delete even while a cells alias names the cell' },
      },
      examples: ['topoctl cells delete zone2', 'topoctl cells delete zone2 --force'],
      async run(ctx) {
        const name = ctx.args[0];
        const g = ctx.topo.global;
        await ctx.topo.call(g.deleteCellInfo.bind(g), { name, force: ctx.flag('force') });
        ctx.out.result({ name, deleted: true }, () => ctx.out.line(`deleted cell ${name}`));
      },
    },
  ],
};
