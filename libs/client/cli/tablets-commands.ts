import { Tablet, type TabletAlias, type TabletType } from '../../proto';
import type { TabletRecord } from '../../proto/gen/topo/cell/v1/cell';
import { formatAlias, parseAlias, parsePairs, parseTabletType } from './argument-values';
import { UsageError, type CommandContext, type CommandGroup, type OptionSpecs } from './command';
import { describeError } from './grpc-errors';
import { formatTabletType, yesNo } from './record-format';

/** The filter flags shared by `tablets list` and `watch`; the server applies them. */
export const TABLET_FILTER_OPTIONS: OptionSpecs = {
  keyspace: { type: 'string', value: 'KEYSPACE', description: 'only tablets of this keyspace' },
  shard: { type: 'string', value: 'SHARD', description: 'only tablets of this shard, e.g. -80' },
  type: { type: 'string', value: 'TYPE', multiple: true, description: 'only tablets of these types, e.g. REPLICA,RDONLY' },
};

/** The filter flags as request fields. */
export function tabletFilter(ctx: CommandContext): { keyspace: string; shard: string; tabletTypes: TabletType[] } {
  return {
    keyspace: ctx.string('keyspace') ?? '',
    shard: ctx.string('shard') ?? '',
    tabletTypes: ctx.list('type').map(parseTabletType),
  };
}

/** A tablet lives in the cell its alias names; --cell, when given, must agree. */
async function cellOf(ctx: CommandContext, alias: TabletAlias): Promise<string> {
  if (ctx.settings.cell !== undefined && ctx.settings.cell !== alias.cell) {
    throw new UsageError(`tablet ${formatAlias(alias)} is in cell ${alias.cell}, not --cell ${ctx.settings.cell}`);
  }
  return ctx.topo.cellAddress(alias.cell);
}

function recordJson(record: TabletRecord): unknown {
  const tablet = record.tablet ?? Tablet.fromPartial({});
  return { alias: formatAlias(tablet.alias), alive: record.alive, version: record.version, tablet: Tablet.toJSON(tablet) };
}

function tabletRow(record: TabletRecord): string[] {
  const tablet = record.tablet ?? Tablet.fromPartial({});
  return [formatAlias(tablet.alias), tablet.keyspace, tablet.shard, formatTabletType(tablet.type), tablet.hostname, yesNo(record.alive)];
}

const TABLE_HEADERS = ['alias', 'keyspace', 'shard', 'type', 'hostname', 'alive'];

export const tabletsCommands: CommandGroup = {
  name: 'tablets',
  summary: "Tablets in a cell's topology",
  commands: [
    {
      name: 'list',
      summary: 'List the tablets of --cell, or of every cell, with their liveness',
      options: TABLET_FILTER_OPTIONS,
      examples: [
        'topoctl tablets list',
        'topoctl tablets list --cell zone1 --keyspace commerce --type REPLICA,RDONLY',
      ],
      async run(ctx) {
        const filter = tabletFilter(ctx);
        const oneCell = ctx.settings.cell !== undefined || ctx.settings.cellAddress !== undefined;
        const cells = oneCell ? [ctx.settings.cell ?? ctx.settings.cellAddress ?? ''] : await ctx.topo.cells();
        const results = await Promise.allSettled(
          cells.map(async (cell) => {
            const client = ctx.topo.cellTopo(await ctx.topo.cellAddress(oneCell ? undefined : cell));
            return (await ctx.topo.call(client.listTablets.bind(client), filter)).tablets;
          }),
        );
        const records: TabletRecord[] = [];
        let failed: unknown;
        results.forEach((result, index) => {
          if (result.status === 'fulfilled') records.push(...result.value);
          else if (oneCell) failed ??= result.reason;
          else {
            // One unreachable cell must not hide the others: report it and exit 1.
            ctx.out.error(`cell ${cells[index]}: ${describeError(result.reason)}`);
            failed ??= result.reason;
          }
        });
        if (oneCell && failed !== undefined) throw failed;
        records.sort((a, b) => tabletRow(a)[0].localeCompare(tabletRow(b)[0]));
        ctx.out.result(records.map(recordJson), () => ctx.out.table(TABLE_HEADERS, records.map(tabletRow)));
        return failed === undefined ? 0 : 1;
      },
    },
    {
      name: 'get',
      summary: 'Show a tablet record, its version and liveness',
      args: [{ name: 'ALIAS' }],
      examples: ['topoctl tablets get zone1-100'],
      async run(ctx) {
        const alias = parseAlias(ctx.args[0]);
        const client = ctx.topo.cellTopo(await cellOf(ctx, alias));
        const res = await ctx.topo.call(client.getTablet.bind(client), { alias: formatAlias(alias) });
        const tablet = res.tablet ?? Tablet.fromPartial({});
        ctx.out.result(recordJson(res), () =>
          ctx.out.fields([
            ['alias', formatAlias(tablet.alias)],
            ['hostname', tablet.hostname],
            ['ports', Object.entries(tablet.portMap).map(([name, port]) => `${name}=${port}`).join(' ')],
            ['keyspace', tablet.keyspace],
            ['shard', tablet.shard],
            ['type', formatTabletType(tablet.type)],
            ['tags', Object.entries(tablet.tags).map(([k, v]) => `${k}=${v}`).join(' ')],
            ['alive', yesNo(res.alive)],
            ['version', res.version],
          ]),
        );
      },
    },
    {
      name: 'create',
      summary: 'Create a tablet record (not alive until the tablet registers)',
      options: {
        alias: { type: 'string', value: 'CELL-UID', description: 'the alias, e.g. zone1-100 (required)' },
        hostname: { type: 'string', value: 'HOST', description: 'the host the tablet runs on (required)' },
        keyspace: { type: 'string', value: 'KEYSPACE', description: 'its keyspace, which must exist (required)' },
        shard: { type: 'string', value: 'SHARD', description: 'its shard, which must exist (required)' },
        type: { type: 'string', value: 'TYPE', description: 'PRIMARY, REPLICA, RDONLY, ... (required)' },
        port: { type: 'string', value: 'NAME=PORT', multiple: true, description: 'a named port, e.g. grpc=15100' },
        tag: { type: 'string', value: 'KEY=VALUE', multiple: true, description: 'a tag' },
      },
      examples: [
        'topoctl tablets create --alias zone1-100 --hostname db1 --keyspace commerce --shard 0 --type REPLICA --port grpc=15100',
      ],
      async run(ctx) {
        const alias = parseAlias(ctx.required('alias'));
        const tablet = Tablet.fromPartial({
          alias,
          hostname: ctx.required('hostname'),
          keyspace: ctx.required('keyspace'),
          shard: ctx.required('shard'),
          type: parseTabletType(ctx.required('type')),
          portMap: Object.fromEntries(
            parsePairs(ctx.list('port'), 'port').map(([name, port]) => {
              if (!/^\d+$/.test(port)) throw new UsageError(`--port ${name}=${port}: the port must be a number`);
              return [name, Number(port)];
            }),
          ),
          tags: Object.fromEntries(parsePairs(ctx.all('tag'), 'tag')),
        });
        const client = ctx.topo.cellTopo(await cellOf(ctx, alias));
        const { version } = await ctx.topo.call(client.createTablet.bind(client), { tablet });
        ctx.out.result(recordJson({ tablet, version, alive: false }), () =>
          ctx.out.line(`created tablet ${formatAlias(alias)} (version ${version})`),
        );
      },
    },
    {
      name: 'delete',
      summary: 'Delete a tablet record and its replication graph entry',
      args: [{ name: 'ALIAS' }],
      examples: ['topoctl tablets delete zone1-100'],
      async run(ctx) {
        const alias = parseAlias(ctx.args[0]);
        const client = ctx.topo.cellTopo(await cellOf(ctx, alias));
        await ctx.topo.call(client.deleteTablet.bind(client), { alias: formatAlias(alias) });
        ctx.out.result({ alias: formatAlias(alias), deleted: true }, () => ctx.out.line(`deleted tablet ${formatAlias(alias)}`));
      },
    },
  ],
};
