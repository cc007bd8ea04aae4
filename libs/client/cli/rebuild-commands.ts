import type { CellResult } from '../../proto/gen/topo/global/v1/global';
import type { CommandContext, CommandGroup, OptionSpecs } from './command';

const CELLS: OptionSpecs = {
  cells: { type: 'string', value: 'a,b', multiple: true, description: 'only these cells (default: every cell)' },
};

function printCells(ctx: CommandContext, what: string, cells: CellResult[]): void {
  ctx.out.result(
    cells.map((c) => ({ cell: c.cell, version: c.version })),
    () => {
      ctx.out.line(`rebuilt ${what} in ${cells.length} cell${cells.length === 1 ? '' : 's'}`);
      ctx.out.table(['cell', 'version'], cells.map((c) => [c.cell, c.version]));
    },
  );
}

export const rebuildCommands: CommandGroup = {
  name: 'rebuild',
  summary: 'Recompute the serving graph and write it into the cells',
  commands: [
    {
      name: 'keyspace',
      summary: "Rebuild a keyspace's SrvKeyspace in each cell",
      args: [{ name: 'KEYSPACE' }],
      options: CELLS,
      examples: ['topoctl rebuild keyspace commerce', 'topoctl rebuild keyspace commerce --cells zone1,zone2'],
      async run(ctx) {
        const keyspace = ctx.args[0];
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.rebuildKeyspaceGraph.bind(g), { keyspace, cells: ctx.list('cells') });
        printCells(ctx, `keyspace ${keyspace}`, res.cells);
      },
    },
    {
      name: 'vschema',
      summary: 'Rebuild SrvVSchema from every vschema and the routing rules in each cell',
      options: CELLS,
      examples: ['topoctl rebuild vschema', 'topoctl rebuild vschema --cells zone1'],
      async run(ctx) {
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.rebuildVSchemaGraph.bind(g), { cells: ctx.list('cells') });
        printCells(ctx, 'vschema', res.cells);
      },
    },
  ],
};
