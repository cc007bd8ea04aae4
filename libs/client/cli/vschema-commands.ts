import { readFileSync } from 'node:fs';
import { vschema as vschemapb } from '../../proto';
import { parseVersion } from './argument-values';
import { UsageError, type Command, type CommandContext, type CommandGroup, type OptionSpecs } from './command';

/**
 * VSchema and routing rules, written from a file as vtctldclient's ApplyVSchema and
 * ApplyRoutingRules do: the file holds one JSON object (Vitess's field names, or their
 * camelCase JSON names), saved as the binary `vschema.Keyspace` / `vschema.RoutingRules`
 * Vitess stores, and printed back as proto3 JSON.
 */

/** A vschema message type: JSON in, binary out, and back. */
interface VSchemaCodec {
  fromJSON(value: unknown): object;
  encode(message: never): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  toJSON(message: never): unknown;
}

const APPLY_OPTIONS: OptionSpecs = {
  file: { type: 'string', short: 'f', value: 'FILE', description: "a JSON file, '-' for stdin (required)" },
  version: { type: 'string', value: 'N', description: 'save only if the stored one is still at this version' },
  'dry-run': { type: 'boolean', description: 'check the file and print what would be saved, saving nothing' },
};

/** The file's bytes, once they are known to hold one JSON object. */
function readJsonObject(ctx: CommandContext): { bytes: Buffer; value: unknown } {
  const file = ctx.required('file');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new UsageError(`--file ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(`--file ${file} is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--file ${file} must hold one JSON object`);
  return { bytes, value };
}

/** Stored bytes as JSON: the decoded message, else JSON saved by an earlier release, else base64. */
function stored(bytes: Buffer, codec: VSchemaCodec): { json: unknown } | { base64: string } {
  try {
    return { json: codec.toJSON(codec.decode(bytes) as never) };
  } catch {
    // Not this message: maybe JSON stored before vschemas were binary.
  }
  try {
    return { json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch {
    return { base64: bytes.toString('base64') };
  }
}

function printStored(ctx: CommandContext, what: Record<string, unknown>, bytes: Buffer, version: string, codec: VSchemaCodec): void {
  const value = stored(bytes, codec);
  ctx.out.result({ ...what, version, ...value }, () => {
    if ('json' in value) ctx.out.printJson(value.json);
    else ctx.out.line(`(binary, ${bytes.length} bytes; --json shows it in base64)`);
  });
}

function apply(
  name: string,
  summary: string,
  what: string,
  codec: VSchemaCodec,
  save: (ctx: CommandContext, bytes: Buffer, version: string) => Promise<string>,
  args: Command['args'],
  examples: string[],
): Command {
  return {
    name,
    summary,
    description: `${what} must be one JSON object; it is saved as Vitess's binary message. Rebuild the cells' SrvVSchema afterwards (topoctl rebuild vschema).`,
    args,
    options: APPLY_OPTIONS,
    examples,
    async run(ctx) {
      const { value } = readJsonObject(ctx);
      const bytes = Buffer.from(codec.encode(codec.fromJSON(value) as never).finish());
      const version = ctx.string('version') === undefined ? '0' : parseVersion(ctx.required('version'), 'version');
      if (ctx.flag('dry-run')) {
        ctx.out.result({ dryRun: true, value }, () => {
          ctx.out.note(`dry run: ${what} is valid; nothing saved`);
          ctx.out.printJson(value);
        });
        return;
      }
      const saved = await save(ctx, bytes, version);
      ctx.out.result({ saved: true, version: saved }, () => ctx.out.line(`saved ${what} (version ${saved})`));
    },
  };
}

export const vschemaCommands: CommandGroup = {
  name: 'vschema',
  summary: "A keyspace's VSchema in the global topology",
  commands: [
    {
      name: 'get',
      summary: "Print a keyspace's VSchema and its version",
      args: [{ name: 'KEYSPACE' }],
      examples: ['topoctl vschema get commerce', 'topoctl vschema get commerce --json'],
      async run(ctx) {
        const keyspace = ctx.args[0];
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.getVSchema.bind(g), { keyspace });
        printStored(ctx, { keyspace }, res.vschema, res.version, vschemapb.Keyspace);
      },
    },
    apply(
      'apply',
      "Save a keyspace's VSchema from a JSON file",
      'the vschema',
      vschemapb.Keyspace,
      async (ctx, vschema, version) => {
        const g = ctx.topo.global;
        return (await ctx.topo.call(g.saveVSchema.bind(g), { keyspace: ctx.args[0], vschema, version })).version;
      },
      [{ name: 'KEYSPACE' }],
      ['topoctl vschema apply commerce --file commerce-vschema.json', 'topoctl vschema apply commerce -f - --dry-run < vschema.json'],
    ),
    {
      name: 'delete',
      summary: "Delete a keyspace's VSchema",
      args: [{ name: 'KEYSPACE' }],
      examples: ['topoctl vschema delete commerce'],
      async run(ctx) {
        const keyspace = ctx.args[0];
        const g = ctx.topo.global;
        await ctx.topo.call(g.deleteVSchema.bind(g), { keyspace });
        ctx.out.result({ keyspace, deleted: true }, () => ctx.out.line(`deleted the vschema of ${keyspace}`));
      },
    },
  ],
};

export const routingRulesCommands: CommandGroup = {
  name: 'routing-rules',
  summary: 'The routing rules of the global topology',
  commands: [
    {
      name: 'get',
      summary: 'Print the routing rules and their version',
      examples: ['topoctl routing-rules get'],
      async run(ctx) {
        const g = ctx.topo.global;
        const res = await ctx.topo.call(g.getRoutingRules.bind(g), {});
        printStored(ctx, {}, res.routingRules, res.version, vschemapb.RoutingRules);
      },
    },
    apply(
      'apply',
      'Save the routing rules from a JSON file',
      'the routing rules',
      vschemapb.RoutingRules,
      async (ctx, routingRules, version) => {
        const g = ctx.topo.global;
        return (await ctx.topo.call(g.saveRoutingRules.bind(g), { routingRules, version })).version;
      },
      [],
      ['topoctl routing-rules apply --file rules.json', 'topoctl routing-rules apply -f rules.json --version 1234'],
    ),
  ],
};
