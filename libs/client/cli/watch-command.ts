import { UsageError, type Command } from './command';
import { pathClient, relative } from './path-commands';
import { followPath, type PathEvent } from './path-watch';
import { formatTabletType, readableJson } from './record-format';
import { followTablets, type TabletEvent } from './tablet-change-feed';
import { TABLET_FILTER_OPTIONS, tabletFilter } from './tablets-commands';

const TABLET_FILTERS = Object.keys(TABLET_FILTER_OPTIONS);

function eventLine(event: TabletEvent): string {
  const tablet = event.tablet;
  const type = tablet ? formatTabletType(tablet.type) : '-';
  const target = tablet ? `${tablet.keyspace}/${tablet.shard}` : '-/-';
  return `${event.revision} ${event.alias} ${type} ${target} ${event.state}`;
}

function eventJson(event: TabletEvent): unknown {
  const tablet = event.tablet;
  return {
    revision: event.revision,
    alias: event.alias,
    state: event.state,
    type: tablet ? formatTabletType(tablet.type) : null,
    keyspace: tablet?.keyspace ?? null,
    shard: tablet?.shard ?? null,
    hostname: tablet?.hostname ?? null,
    snapshot: event.snapshot,
  };
}

function pathLine(event: PathEvent): string {
  const value = event.decoded.value === null ? '' : ` ${typeof event.decoded.value === 'string' ? JSON.stringify(event.decoded.value) : JSON.stringify(readableJson(event.decoded.value))}`;
  return `${event.revision} ${event.change} ${event.path} ${event.decoded.type}${value}`;
}

function pathJson(event: PathEvent): unknown {
  return { revision: event.revision, change: event.change, path: event.path, version: event.version, type: event.decoded.type, value: event.decoded.value, snapshot: event.snapshot };
}

export const watchCommand: Command = {
  name: 'watch',
  summary: "Follow a cell's tablets, or any directory of the topology (--path), live until Ctrl-C",
  description: [
    'With --path, follows that directory of global-topo (of the cell with --cell) recursively:',
    '  <revision> put|delete <path> <record type> <record as JSON>',
    "records decoded as `cat` decodes them (Keyspace, Shard, CellInfo, lock contents, ...);",
    "'--path /' is the whole topology. It resumes after a disconnect, missing nothing.",
    '',
    'Otherwise, prints the current tablets of --cell first, then each change as it happens:',
    '  <revision> <alias> <type> <keyspace>/<shard> alive|not-alive|removed',
    'Filters apply on the server; "removed" also means a tablet left the filter. After a',
    'disconnect it resumes from the last revision it printed, missing nothing; when that',
    'revision has left the server history it re-lists and prints only what changed.',
    'Needs --cell or --cell-address. With --json, one JSON object a line.',
  ].join('\n'),
  options: {
    path: { type: 'string', value: 'PATH', description: "a directory to follow instead of tablets, e.g. keyspaces; '/' for all" },
    ...TABLET_FILTER_OPTIONS,
  },
  examples: [
    'topoctl watch --cell zone1',
    'topoctl watch --cell zone1 --keyspace commerce --type PRIMARY --json',
    'topoctl watch --path /',
    'topoctl watch --path keyspaces/commerce --json',
  ],
  async run(ctx) {
    const path = ctx.string('path');
    if (path !== undefined) {
      if (TABLET_FILTERS.some((flag) => ctx.string(flag) !== undefined || ctx.all(flag).length > 0)) {
        throw new UsageError('--keyspace, --shard and --type filter tablets; they do not go with --path');
      }
      await followPath({
        client: await pathClient(ctx),
        path: relative(path).replace(/\/+$/, ''),
        signal: ctx.signal,
        onEvent: (event) => (ctx.out.json ? ctx.out.printJson(pathJson(event), true) : ctx.out.line(pathLine(event))),
        onNote: (text) => ctx.out.note(text),
      });
      return;
    }
    if (ctx.settings.cell === undefined && ctx.settings.cellAddress === undefined) {
      throw new UsageError("watch needs --cell NAME (a cell's tablets) or --path PATH (a directory of the topology, '/' for all)");
    }
    const filter = tabletFilter(ctx);
    const client = ctx.topo.cellTopo(await ctx.topo.cellAddress());
    await followTablets({
      client,
      filter,
      signal: ctx.signal,
      onEvent: (event) => (ctx.out.json ? ctx.out.printJson(eventJson(event), true) : ctx.out.line(eventLine(event))),
      onNote: (text) => ctx.out.note(text),
    });
  },
};
