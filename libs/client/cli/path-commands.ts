import { CellInfo, CellsAlias, Keyspace, Shard, ShardReplication, SrvKeyspace, Tablet } from '../../proto';
import { EntryType, type PathServiceClient } from '../../proto/gen/topo/path/v1/path';
import { parseVersion } from './argument-values';
import type { Command, CommandContext } from './command';

const WHERE = 'Paths are relative to the service root: global-topo by default, the cell with --cell or --cell-address.';

/** Files holding topodata records, by file name, shown decoded as proto3 JSON. */
const RECORDS: Record<string, (bytes: Uint8Array) => unknown> = {
  Keyspace: (b) => Keyspace.toJSON(Keyspace.decode(b)),
  Shard: (b) => Shard.toJSON(Shard.decode(b)),
  CellInfo: (b) => CellInfo.toJSON(CellInfo.decode(b)),
  CellsAlias: (b) => CellsAlias.toJSON(CellsAlias.decode(b)),
  Tablet: (b) => Tablet.toJSON(Tablet.decode(b)),
  ShardReplication: (b) => ShardReplication.toJSON(ShardReplication.decode(b)),
  SrvKeyspace: (b) => SrvKeyspace.toJSON(SrvKeyspace.decode(b)),
};

export async function pathClient(ctx: CommandContext): Promise<PathServiceClient> {
  const inCell = ctx.settings.cell !== undefined || ctx.settings.cellAddress !== undefined;
  return ctx.topo.path(inCell ? await ctx.topo.cellAddress() : ctx.settings.globalAddress);
}

/** `/keyspaces/ks` and `keyspaces/ks` name the same file: paths are relative to the root. */
export function relative(path: string | undefined): string {
  return (path ?? '').replace(/^\/+/, '');
}

/**
 * `type` is the record's name, `json` (text holding a JSON object or array: lock contents, a
 * vschema, routing rules), `text` or `binary`; `value` the decoded JSON, the text, or null.
 */
export interface Decoded {
  type: string;
  value: unknown;
}

export function decode(path: string, contents: Buffer): Decoded {
  const name = path.split('/').pop() ?? '';
  const record = RECORDS[name];
  if (record) {
    try {
      return { type: name, value: record(contents) };
    } catch {
      // Not the record its name promises (written by hand?): show it as it is.
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(contents);
  } catch {
    return { type: 'binary', value: null };
  }
  if (/^\s*[[{]/.test(text)) {
    try {
      return { type: 'json', value: JSON.parse(text) };
    } catch {
      // Looks like JSON but is not: plain text.
    }
  }
  return { type: 'text', value: text };
}

export const lsCommand: Command = {
  name: 'ls',
  summary: 'List a topology directory',
  description: `${WHERE}\nDirectories end in '/'; files bound to a lease are marked ephemeral.`,
  args: [{ name: 'PATH', optional: true }],
  examples: ['topoctl ls', 'topoctl ls keyspaces/commerce', 'topoctl ls tablets --cell zone1'],
  async run(ctx) {
    const client = await pathClient(ctx);
    const { entries } = await ctx.topo.call(client.listDir.bind(client), { path: relative(ctx.args[0]) });
    const isDir = (type: EntryType): boolean => type === EntryType.ENTRY_TYPE_DIRECTORY;
    ctx.out.result(
      entries.map((e) => ({ name: e.name, type: isDir(e.type) ? 'directory' : 'file', ephemeral: e.ephemeral })),
      () => {
        for (const e of entries) ctx.out.line(`${e.name}${isDir(e.type) ? '/' : ''}${e.ephemeral ? '  (ephemeral)' : ''}`);
      },
    );
  },
};

export const catCommand: Command = {
  name: 'cat',
  summary: 'Print a topology file',
  description: `${WHERE}\nRecords (Keyspace, Shard, CellInfo, Tablet, ...) print as JSON, text as it is;\n--raw prints the stored bytes.`,
  args: [{ name: 'PATH' }],
  options: { raw: { type: 'boolean', description: 'write the stored bytes unchanged' } },
  examples: [
    'topoctl cat keyspaces/commerce/Keyspace',
    'topoctl cat tablets/zone1-0000000100/Tablet --cell zone1',
    'topoctl cat RoutingRules --raw',
  ],
  async run(ctx) {
    const path = relative(ctx.args[0]);
    const client = await pathClient(ctx);
    const res = await ctx.topo.call(client.get.bind(client), { path });
    const decoded = decode(path, res.contents);
    if (ctx.flag('raw') && !ctx.out.json) return ctx.out.raw(res.contents);
    const json = { path, version: res.version, type: decoded.type, value: decoded.value, contentsBase64: res.contents.toString('base64') };
    ctx.out.result(json, () => {
      if (decoded.type === 'binary') ctx.out.raw(res.contents);
      else if (typeof decoded.value === 'string') {
        // Text gets the final newline a terminal needs; --raw keeps the bytes exact.
        ctx.out.raw(Buffer.from(decoded.value.endsWith('\n') || decoded.value === '' ? decoded.value : `${decoded.value}\n`));
      } else ctx.out.printJson(decoded.value);
    });
  },
};

export const rmCommand: Command = {
  name: 'rm',
  summary: 'Delete a topology file',
  description: `${WHERE}\nWith --version, only if the file is still at that version (FAILED_PRECONDITION otherwise).`,
  args: [{ name: 'PATH' }],
  options: { version: { type: 'string', value: 'N', description: 'delete only at this version' } },
  examples: ['topoctl rm keyspaces/commerce/VSchema', 'topoctl rm keyspaces/commerce/VSchema --version 1234'],
  async run(ctx) {
    const path = relative(ctx.args[0]);
    const version = ctx.string('version') === undefined ? '0' : parseVersion(ctx.required('version'), 'version');
    const client = await pathClient(ctx);
    await ctx.topo.call(client.delete.bind(client), { path, version });
    ctx.out.result({ path, deleted: true }, () => ctx.out.line(`deleted ${path}`));
  },
};
