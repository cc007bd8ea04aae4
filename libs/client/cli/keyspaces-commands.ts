import { Keyspace, keyspaceTypeToJSON } from '../../proto';
import type { CommandGroup } from './command';

export const keyspacesCommands: CommandGroup = {
  name: 'keyspaces',
  summary: 'Keyspaces in the global topology',
  commands: [
    {
      name: 'list',
      summary: 'List the keyspaces of the global topology',
      examples: ['topoctl keyspaces list', 'topoctl keyspaces list --json'],
      async run(ctx) {
        const g = ctx.topo.global;
        const { names } = await ctx.topo.call(g.listKeyspaces.bind(g), {});
        ctx.out.result(names, () => names.forEach((name) => ctx.out.line(name)));
      },
    },
    {
      name: 'get',
      summary: 'Show a keyspace record and its version',
      args: [{ name: 'NAME' }],
      examples: ['topoctl keyspaces get commerce'],
      async run(ctx) {
        const name = ctx.args[0];
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.getKeyspace.bind(g), { name });
        const keyspace = res.keyspace ?? Keyspace.fromPartial({});
        ctx.out.result({ name, version: res.version, keyspace: Keyspace.toJSON(keyspace) }, () =>
          ctx.out.fields([
            ['keyspace', name],
            ['type', keyspaceTypeToJSON(keyspace.keyspaceType)],
            ['base keyspace', keyspace.baseKeyspace],
            ['durability policy', keyspace.durabilityPolicy],
            ['sidecar db', keyspace.sidecarDbName],
            ['version', res.version],
          ]),
        );
      },
    },
    {
      name: 'create',
      summary: 'Create a keyspace',
      args: [{ name: 'NAME' }],
      options: {
        'durability-policy': { type: 'string', value: 'POLICY', description: 'durability policy, e.g. semi_sync' },
      },
      examples: ['topoctl keyspaces create commerce', 'topoctl keyspaces create customer --durability-policy semi_sync'],
      async run(ctx) {
        const name = ctx.args[0];
        const g = ctx.topo.global;
        const keyspace = Keyspace.fromPartial({ durabilityPolicy: ctx.string('durability-policy') ?? '' });
        const { version } = await ctx.topo.call(g.createKeyspace.bind(g), { name, keyspace });
        ctx.out.result({ name, version }, () => ctx.out.line(`created keyspace ${name} (version ${version})`));
      },
    },
    {
      name: 'delete',
      summary: 'Delete a keyspace',
      description: 'Refused with FAILED_PRECONDITION while the keyspace has shards, unless --recursive.',
      args: [{ name: 'NAME' }],
      options: {
        recursive: { type: 'boolean', description: 'also delete its shards, vschema and everything under it' },
      },
      examples: ['topoctl keyspaces delete commerce', 'topoctl keyspaces delete commerce --recursive'],
      async run(ctx) {
        const name = ctx.args[0];
        const g = ctx.topo.global;
        await ctx.topo.call(g.deleteKeyspace.bind(g), { name, recursive: ctx.flag('recursive') });
        ctx.out.result({ name, deleted: true }, () => ctx.out.line(`deleted keyspace ${name}`));
      },
    },
  ],
};
