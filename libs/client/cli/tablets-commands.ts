import { hostname as osHostname } from 'node:os';
import { status } from '@grpc/grpc-js';
import { Tablet, type TabletAlias, type TabletType } from '../../proto';
import type { TabletRecord } from '../../proto/gen/topo/cell/v1/cell';
import { TabletAgent, type TabletAgentEvent } from '../tablet-agent';
import { formatAlias, parseAlias, parsePairs, parseTabletType, parseWholeSeconds } from './argument-values';
import { UsageError, type Command, type CommandContext, type CommandGroup, type OptionSpecs } from './command';
import { CallFailure, describeError } from './grpc-errors';
import { formatTabletType, yesNo } from './record-format';
import { allPages } from '../all-pages';

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

/** The flags that describe a tablet record, shared by `create` and `register`. */
const TABLET_RECORD_OPTIONS: OptionSpecs = {
  hostname: { type: 'string', value: 'HOST', description: 'the host the tablet runs on (required)' },
  keyspace: { type: 'string', value: 'KEYSPACE', description: 'its keyspace, which must exist (required)' },
  shard: { type: 'string', value: 'SHARD', description: 'its shard, which must exist (required)' },
  type: { type: 'string', value: 'TYPE', description: 'PRIMARY, REPLICA, RDONLY, ... (required)' },
  port: { type: 'string', value: 'NAME=PORT', multiple: true, description: 'a named port, e.g. grpc=15100' },
  tag: { type: 'string', value: 'KEY=VALUE', multiple: true, description: 'a tag' },
};

function tabletFromFlags(ctx: CommandContext, alias: TabletAlias, hostname: string): Tablet {
  return Tablet.fromPartial({
    alias,
    hostname,
    keyspace: ctx.required('keyspace'),
    shard: ctx.required('shard'),
    type: parseTabletType(ctx.required('type')),
    portMap: Object.fromEntries(
      parsePairs(ctx.list('port'), 'port').map(([name, port]) => {
        if (!/^\d+$/.test(port) || Number(port) > 65535) throw new UsageError(`--port ${name}=${port}: the port must be a number up to 65535`);
        return [name, Number(port)];
      }),
    ),
    tags: Object.fromEntries(parsePairs(ctx.all('tag'), 'tag')),
  });
}

const REGISTER_MIN_TTL_S = 1;
const REGISTER_MAX_TTL_S = 300;

/**
 * `tablets register`: what a tablet does, from the command line. Registers the tablet (its
 * record, then liveness on a lease) through the SDK's TabletAgent, which heartbeats every
 * third of the TTL and registers again after a lost lease or a cell-topo restart, until
 * Ctrl-C unregisters it.
 */
const registerCommand: Command = {
  name: 'register',
  summary: 'Register a tablet and keep it alive (heartbeats on its lease) until Ctrl-C',
  description: [
    'Writes the tablet record and marks it alive on a lease of --ttl, renewed every third of it;',
    'after a lost lease or a cell-topo restart it registers again. Ctrl-C unregisters it: routers',
    'see it leave at once. Killed without Ctrl-C, it leaves their view when the lease expires.',
  ].join('\n'),
  args: [{ name: 'ALIAS' }],
  options: {
    ...TABLET_RECORD_OPTIONS,
    hostname: { type: 'string', value: 'HOST', description: 'the host the tablet runs on (default: this host)' },
    ttl: { type: 'string', value: 'DURATION', description: `the liveness lease, whole seconds from ${REGISTER_MIN_TTL_S}s to ${REGISTER_MAX_TTL_S}s (default 10s)` },
    takeover: { type: 'boolean', description: 'take the alias over from another live registration' },
  },
  examples: [
    'topoctl tablets register zone1-100 --keyspace commerce --shard -80 --type REPLICA --port grpc=15100',
    'topoctl tablets register zone1-100 --keyspace commerce --shard -80 --type PRIMARY --ttl 30s --json',
  ],
  async run(ctx) {
    const alias = parseAlias(ctx.args[0]);
    const tablet = tabletFromFlags(ctx, alias, ctx.string('hostname') ?? osHostname());
    const ttlMs = parseWholeSeconds(ctx.string('ttl') ?? '10s', 'ttl', REGISTER_MIN_TTL_S, REGISTER_MAX_TTL_S);
    const shown = formatAlias(alias);
    const agent = new TabletAgent({ address: await cellOf(ctx, alias), tablet, ttlSeconds: ttlMs / 1000, takeover: ctx.flag('takeover') });
    let lastError = '';
    let registered = false;
    const report = (event: TabletAgentEvent): void => {
      if (event.type === 'disconnected') {
        lastError = event.error;
        // Before the first registration a refusal ends the command with its error instead.
        if (!registered) return;
      } else registered = true;
      if (ctx.out.json) return ctx.out.printJson({ alias: shown, ...event }, true);
      switch (event.type) {
        case 'registered':
          return ctx.out.line(`${event.resumed ? 'resumed' : 'registered'} ${shown} (lease ${event.leaseId}, revision ${event.revision})${event.resumed ? '' : '; alive until Ctrl-C'}`);
        case 'lease-lost':
          return ctx.out.line(`lease ${event.leaseId} of ${shown} was lost`);
        case 're-registered':
          return ctx.out.line(`registered ${shown} again (lease ${event.leaseId}, revision ${event.revision})`);
        case 'disconnected':
          return ctx.out.note(`disconnected: ${event.error}; reconnecting`);
      }
    };
    agent.on('event', report);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CallFailure(status.DEADLINE_EXCEEDED, `${shown} was not registered within ${ctx.settings.timeoutMs / 1000} s${lastError ? `: ${lastError}` : ''}`)),
        ctx.settings.timeoutMs,
      );
    });
    const stopped = new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([agent.start(), timeout, stopped]);
      clearTimeout(timer);
      await stopped;
    } finally {
      clearTimeout(timer);
      await agent.stop();
    }
    ctx.out.result({ alias: shown, type: 'unregistered' }, () => ctx.out.line(`unregistered ${shown}`));
  },
};

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
            const listPage = (pageToken: string) => ctx.topo.call(client.listTablets.bind(client), { ...filter, pageSize: 0, pageToken });
            return allPages(listPage, (response) => response.tablets);
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
        ...TABLET_RECORD_OPTIONS,
      },
      examples: [
        'topoctl tablets create --alias zone1-100 --hostname db1 --keyspace commerce --shard 0 --type REPLICA --port grpc=15100',
      ],
      async run(ctx) {
        const alias = parseAlias(ctx.required('alias'));
        const tablet = tabletFromFlags(ctx, alias, ctx.required('hostname'));
        const client = ctx.topo.cellTopo(await cellOf(ctx, alias));
        const { version } = await ctx.topo.call(client.createTablet.bind(client), { tablet });
        ctx.out.result(recordJson({ tablet, version, alive: false }), () =>
          ctx.out.line(`created tablet ${formatAlias(alias)} (version ${version})`),
        );
      },
    },
    registerCommand,
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
