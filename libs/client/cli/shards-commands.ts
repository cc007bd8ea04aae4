import { status } from '@grpc/grpc-js';
import { Shard, TabletType, type Tablet, type TabletAlias } from '../../proto';
import { UpdateShardFieldsRequest } from '../../proto/gen/topo/global/v1/global';
import { formatAlias, parseAlias, parseShardPath } from './argument-values';
import type { CommandContext, CommandGroup } from './command';
import { CallFailure, describeError, isServiceError } from './grpc-errors';
import { formatKeyRange, formatTabletType, formatTime, yesNo } from './record-format';

interface ShardResult {
  keyspace: string;
  name: string;
  version: string;
  shard: Shard;
}

function shardJson(result: ShardResult): unknown {
  return { keyspace: result.keyspace, name: result.name, version: result.version, shard: Shard.toJSON(result.shard) };
}

async function getShard(ctx: CommandContext, keyspace: string, name: string): Promise<ShardResult> {
  const g = ctx.topo.global;
  const res = await ctx.topo.call(g.getShard.bind(g), { keyspace, name });
  return { keyspace, name, version: res.version, shard: res.shard ?? Shard.fromPartial({}) };
}

/**
 * What is wrong with recording `alias` as the primary of KS/SHARD: the tablet is missing,
 * unreachable or in another shard (refused without --force), or not of type PRIMARY yet (a
 * warning: an external reparent may record the shard before the tablet's type changes).
 */
async function primaryProblem(
  ctx: CommandContext,
  keyspace: string,
  shard: string,
  alias: TabletAlias,
): Promise<{ text: string; refuse: boolean } | undefined> {
  const shown = formatAlias(alias);
  let tablet: Tablet | undefined;
  try {
    const client = ctx.topo.cellTopo(await ctx.topo.cellAddress(alias.cell));
    tablet = (await ctx.topo.call(client.getTablet.bind(client), { alias: shown })).tablet;
  } catch (err) {
    if (isServiceError(err) && err.code === status.NOT_FOUND) {
      return { text: `tablet ${shown} does not exist in cell ${alias.cell} (${describeError(err)})`, refuse: true };
    }
    return { text: `tablet ${shown} could not be read from cell ${alias.cell}: ${describeError(err)}`, refuse: true };
  }
  if (tablet === undefined) return { text: `tablet ${shown} has no record in cell ${alias.cell}`, refuse: true };
  if (tablet.keyspace !== keyspace || tablet.shard !== shard) {
    return { text: `tablet ${shown} belongs to ${tablet.keyspace}/${tablet.shard}, not ${keyspace}/${shard}`, refuse: true };
  }
  if (tablet.type !== TabletType.PRIMARY) {
    return { text: `tablet ${shown} is of type ${formatTabletType(tablet.type)}, not PRIMARY`, refuse: false };
  }
  return undefined;
}

function printShard(ctx: CommandContext, result: ShardResult): void {
  ctx.out.fields([
    ['shard', `${result.keyspace}/${result.name}`],
    ['key range', formatKeyRange(result.shard.keyRange)],
    ['primary', formatAlias(result.shard.primaryAlias)],
    ['primary term start', formatTime(result.shard.primaryTermStartTime)],
    ['primary serving', yesNo(result.shard.isPrimaryServing)],
    ['version', result.version],
  ]);
}

export const shardsCommands: CommandGroup = {
  name: 'shards',
  summary: 'Shards of a keyspace and their primaries',
  commands: [
    {
      name: 'list',
      summary: 'List the shards of a keyspace with their primary',
      args: [{ name: 'KEYSPACE' }],
      examples: ['topoctl shards list commerce'],
      async run(ctx) {
        const keyspace = ctx.args[0];
        const g = ctx.topo.global;
        const { names } = await ctx.topo.call(g.listShards.bind(g), { keyspace });
        const shards = await Promise.all(
          names.map((name) =>
            // A shard deleted between the list and the read is simply no longer listed.
            getShard(ctx, keyspace, name).catch((err: unknown) => {
              if (isServiceError(err) && err.code === status.NOT_FOUND) return undefined;
              throw err;
            }),
          ),
        );
        const found = shards.filter((s): s is ShardResult => s !== undefined);
        ctx.out.result(found.map(shardJson), () =>
          ctx.out.table(
            ['shard', 'primary', 'primary serving', 'version'],
            found.map((s) => [s.name, formatAlias(s.shard.primaryAlias), yesNo(s.shard.isPrimaryServing), s.version]),
          ),
        );
      },
    },
    {
      name: 'get',
      summary: 'Show a shard record and its version',
      args: [{ name: 'KEYSPACE/SHARD' }],
      examples: ['topoctl shards get commerce/-80'],
      async run(ctx) {
        const { keyspace, shard } = parseShardPath(ctx.args[0]);
        const result = await getShard(ctx, keyspace, shard);
        ctx.out.result(shardJson(result), () => printShard(ctx, result));
      },
    },
    {
      name: 'create',
      summary: 'Create a shard; its key range comes from its name',
      description: 'The shard is primary serving only when its range overlaps no existing shard of the keyspace.',
      args: [{ name: 'KEYSPACE/SHARD' }],
      examples: ['topoctl shards create commerce/0', 'topoctl shards create customer/-80'],
      async run(ctx) {
        const { keyspace, shard: name } = parseShardPath(ctx.args[0]);
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.createShard.bind(g), { keyspace, name });
        const result = { keyspace, name, version: res.version, shard: res.shard ?? Shard.fromPartial({}) };
        ctx.out.result(shardJson(result), () =>
          ctx.out.line(
            `created shard ${keyspace}/${name} (primary serving: ${yesNo(result.shard.isPrimaryServing)}, version ${res.version})`,
          ),
        );
      },
    },
    {
      name: 'delete',
      summary: 'Delete a shard',
      args: [{ name: 'KEYSPACE/SHARD' }],
      examples: ['topoctl shards delete commerce/0'],
      async run(ctx) {
        const { keyspace, shard: name } = parseShardPath(ctx.args[0]);
        const g = ctx.topo.global;
        await ctx.topo.call(g.deleteShard.bind(g), { keyspace, name });
        ctx.out.result({ keyspace, name, deleted: true }, () => ctx.out.line(`deleted shard ${keyspace}/${name}`));
      },
    },
    {
      name: 'set-primary',
      summary: "Record a tablet as the shard's primary, with the term starting now",
      description: [
        'Writes the shard record only, as after an external reparent; it does not touch the tablets.',
        "The tablet must exist in its cell and belong to the shard (refused with FAILED_PRECONDITION",
        'otherwise); --force records it anyway, with a warning. A tablet whose type is not PRIMARY',
        'yet is recorded with a warning.',
      ].join('\n'),
      args: [{ name: 'KEYSPACE/SHARD' }, { name: 'ALIAS' }],
      options: {
        force: { type: 'boolean', description: 'record the alias even if the tablet is missing, unreachable or in another shard' },
      },
      examples: ['topoctl shards set-primary commerce/0 zone1-100', 'topoctl shards set-primary commerce/0 zone1-100 --force'],
      async run(ctx) {
        const { keyspace, shard: name } = parseShardPath(ctx.args[0]);
        const primaryAlias = parseAlias(ctx.args[1]);
        const problem = await primaryProblem(ctx, keyspace, name, primaryAlias);
        if (problem !== undefined && problem.refuse && !ctx.flag('force')) {
          throw new CallFailure(status.FAILED_PRECONDITION, `${problem.text}; --force records it anyway`);
        }
        if (problem !== undefined) ctx.out.note(`warning: ${problem.text}`);
        const now = Date.now();
        const g = ctx.topo.global;
        const res = await ctx.topo.call(
          g.updateShardFields.bind(g),
          UpdateShardFieldsRequest.fromPartial({
            keyspace,
            name,
            primaryAlias,
            primaryTermStartTime: { seconds: String(Math.floor(now / 1000)), nanoseconds: (now % 1000) * 1_000_000 },
          }),
        );
        const result = { keyspace, name, version: res.version, shard: res.shard ?? Shard.fromPartial({}) };
        ctx.out.result(shardJson(result), () =>
          ctx.out.line(`shard ${keyspace}/${name}: primary ${formatAlias(primaryAlias)} (version ${res.version})`),
        );
      },
    },
  ],
};
