import type { Command } from './command';
import { formatTabletType } from './record-format';
import { followTablets, type TabletEvent } from './tablet-change-feed';
import { TABLET_FILTER_OPTIONS, tabletFilter } from './tablets-commands';

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

export const watchCommand: Command = {
  name: 'watch',
  summary: "Follow a cell's tablets live, one line per change, until Ctrl-C",
  description: [
    'Prints the current tablets first, then each change as it happens:',
    '  <revision> <alias> <type> <keyspace>/<shard> alive|not-alive|removed',
    'Filters apply on the server; "removed" also means a tablet left the filter. After a',
    'disconnect it resumes from the last revision it printed, missing nothing; when that',
    'revision has left the server history it re-lists and prints only what changed.',
    'Needs --cell or --cell-address. With --json, one JSON object a line.',
  ].join('\n'),
  options: TABLET_FILTER_OPTIONS,
  examples: ['topoctl watch --cell zone1', 'topoctl watch --cell zone1 --keyspace commerce --type PRIMARY --json'],
  async run(ctx) {
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
