import { status } from '@grpc/grpc-js';
import { CellsAlias } from '../../proto';
import { parseVersion } from './argument-values';
import { UsageError, type CommandContext, type CommandGroup } from './command';
import { isServiceError } from './grpc-errors';

interface AliasResult {
  name: string;
  version: string;
  cells: string[];
}

function cellsOf(ctx: CommandContext): string[] {
  const cells = ctx.list('cells');
  if (cells.length === 0) throw new UsageError('--cells is required: the cells the alias names, e.g. zone1,zone2');
  return cells;
}

async function getAlias(ctx: CommandContext, name: string): Promise<AliasResult> {
  const g = ctx.topo.global;
  const res = await ctx.topo.call(g.getCellsAlias.bind(g), { name });
  return { name, version: res.version, cells: res.cellsAlias?.cells ?? [] };
}

/** Vitess's CellsAlias: a name for a group of cells (a region), used by tablet discovery. */
export const cellsAliasesCommands: CommandGroup = {
  name: 'cells-aliases',
  summary: 'Named groups of cells (regions), as vtctldclient GetCellsAliases and friends',
  commands: [
    {
      name: 'list',
      summary: 'List the cells aliases with their cells',
      examples: ['topoctl cells-aliases list'],
      async run(ctx) {
        const g = ctx.topo.global;
        const { names } = await ctx.topo.call(g.listCellsAliases.bind(g), {});
        const found = (
          await Promise.all(
            names.map((name) =>
              getAlias(ctx, name).catch((err: unknown) => {
                if (isServiceError(err) && err.code === status.NOT_FOUND) return undefined;
                throw err;
              }),
            ),
          )
        ).filter((a): a is AliasResult => a !== undefined);
        ctx.out.result(found, () => ctx.out.table(['alias', 'cells', 'version'], found.map((a) => [a.name, a.cells.join(','), a.version])));
      },
    },
    {
      name: 'get',
      summary: 'Show a cells alias and its version',
      args: [{ name: 'NAME' }],
      examples: ['topoctl cells-aliases get region1'],
      async run(ctx) {
        const alias = await getAlias(ctx, ctx.args[0]);
        ctx.out.result(alias, () =>
          ctx.out.fields([
            ['alias', alias.name],
            ['cells', alias.cells.join(',')],
            ['version', alias.version],
          ]),
        );
      },
    },
    {
      name: 'create',
      summary: 'Create a cells alias; a cell may belong to one alias only',
      args: [{ name: 'NAME' }],
      options: { cells: { type: 'string', value: 'a,b', multiple: true, description: 'the cells it names (required)' } },
      examples: ['topoctl cells-aliases create region1 --cells zone1,zone2'],
      async run(ctx) {
        const name = ctx.args[0];
        const cells = cellsOf(ctx);
        const g = ctx.topo.global;
        const { version } = await ctx.topo.call(g.createCellsAlias.bind(g), { name, cellsAlias: CellsAlias.fromPartial({ cells }) });
        ctx.out.result({ name, version, cells }, () => ctx.out.line(`created cells alias ${name}: ${cells.join(',')} (version ${version})`));
      },
    },
    {
      name: 'update',
      summary: 'Replace the cells of an alias',
      args: [{ name: 'NAME' }],
      options: {
        cells: { type: 'string', value: 'a,b', multiple: true, description: 'the cells it names from now on (required)' },
        version: { type: 'string', value: 'N', description: 'update only if still at this version' },
      },
      examples: ['topoctl cells-aliases update region1 --cells zone1,zone2,zone3'],
      async run(ctx) {
        const name = ctx.args[0];
        const cells = cellsOf(ctx);
        const version = ctx.string('version') === undefined ? '0' : parseVersion(ctx.required('version'), 'version');
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.updateCellsAlias.bind(g), { name, cellsAlias: CellsAlias.fromPartial({ cells }), version });
        ctx.out.result({ name, version: res.version, cells }, () => ctx.out.line(`updated cells alias ${name}: ${cells.join(',')} (version ${res.version})`));
      },
    },
    {
      name: 'delete',
      summary: 'Delete a cells alias (its cells stay)',
      args: [{ name: 'NAME' }],
      examples: ['topoctl cells-aliases delete region1'],
      async run(ctx) {
        const name = ctx.args[0];
        const g = ctx.topo.global;
        await ctx.topo.call(g.deleteCellsAlias.bind(g), { name });
        ctx.out.result({ name, deleted: true }, () => ctx.out.line(`deleted cells alias ${name}`));
      },
    },
  ],
};
