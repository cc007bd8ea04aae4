import { KeyspaceType, TabletType } from '../proto';
import { MAX_VALUE_BYTES, TopoErrorCode } from '../store';
import { rejection } from './private/memory-store.fixture';
import {
  parseShardName,
  parseTabletAlias,
  tabletAliasString,
  validateCellName,
  validateCellRoot,
  validateCellsAliasName,
  validateKeyspaceName,
  validateKeyspaceType,
  validateLockName,
  validateLockText,
  validateShardName,
  validateTabletAlias,
  validateTabletType,
  validateValueSize,
} from './validation';

const s65 = 'a'.repeat(65);
const s64 = 'a'.repeat(64);

async function refusal(call: () => unknown): Promise<string> {
  const err = await rejection(call);
  expect(err.code).toBe(TopoErrorCode.InvalidArgument);
  return err.message;
}

describe('keyspace, cell and cells alias names', () => {
  const checks = [
    ['keyspace', validateKeyspaceName],
    ['cell', validateCellName],
    ['cells_alias', validateCellsAliasName],
  ] as const;

  for (const [field, validate] of checks) {
    describe(field, () => {
      it.each(['ks', 'a', 'A_b-9', '0', '-', '_'])('accepts %j', (name) => {
        expect(validate(name)).toBe(name);
      });

      it('accepts 64 characters', () => {
        expect(validate(s64)).toBe(s64);
      });

      it.each([
        ['', 'is empty'],
        ['a/b', `has '/'`],
        ['..', `has '.'`],
        ['.', `has '.'`],
        ['a\u0000b', 'a control character (U+0000)'],
        ['a\nb', 'a control character (U+000A)'],
        ['café', `'é' (U+00E9)`],
        ['日本', `'日' (U+65E5)`],
        ['a b', `has ' '`],
        ['a:b', `has ':'`],
      ])('refuses %j saying why', async (name, why) => {
        const message = await refusal(() => validate(name));
        expect(message).toContain(`${field}: `);
        expect(message).toContain(why);
      });

      it('refuses 65 characters', async () => {
        expect(await refusal(() => validate(s65))).toContain(`${field}: "${s65}" is 65 characters — at most 64`);
      });
    });
  }

  it('names the field it was given and lists what is allowed', async () => {
    const message = await refusal(() => validateKeyspaceName('a/b', 'shard.keyspace'));
    expect(message).toBe(`InvalidArgument: shard.keyspace: "a/b" has '/' — allowed: letters, digits, '_' and '-'`);
  });

  it('refuses a value that is not a string', async () => {
    expect(await refusal(() => validateKeyspaceName(undefined as unknown as string))).toContain('must be a string');
  });
});

describe('shard names', () => {
  it.each([
    ['0', '0', '', ''],
    ['-', '-', '', ''],
    ['-80', '-80', '', '80'],
    ['80-', '80-', '80', ''],
    ['40-80', '40-80', '40', '80'],
    ['80-C0', '80-c0', '80', 'c0'],
    ['-8000', '-8000', '', '8000'],
    ['0000-80', '0000-80', '0000', '80'],
  ])('accepts %j as %j with range [%j, %j)', (input, canonical, start, end) => {
    const parsed = parseShardName(input);
    expect(parsed.name).toBe(canonical);
    expect(parsed.keyRange.start.toString('hex')).toBe(start);
    expect(parsed.keyRange.end.toString('hex')).toBe(end);
  });

  it.each([
    ['0', '0'],
    ['x1', 'x1'],
    ['Main', 'Main'],
    ['custom_shard', 'custom_shard'],
  ])('accepts the custom (non-range) name %j as Vitess does, kept as given, with no key range', (input, canonical) => {
    const parsed = parseShardName(input);
    expect(parsed).toMatchObject({ name: canonical, custom: true });
    expect(parsed.keyRange.start.length + parsed.keyRange.end.length).toBe(0);
  });

  it.each([
    ['', 'is empty'],
    ['/', `has '/'`],
    ['..', `has '.'`],
    ['a/b', `has '/'`],
    ['\u0000', 'a control character'],
    ['é-', `'é' (U+00E9)`],
    ['8-', 'odd number of hex digits in its start'],
    ['-8', 'odd number of hex digits in its end'],
    ['x0-', `has 'x' in its start`],
    ['-40-80', `more than one '-'`],
    ['80-40', 'start 80 not below end 40'],
    ['80-80', 'start 80 not below end 80'],
    ['80-8000', 'start 80 not below end 8000'],
    ['-00', 'start (empty) not below end 00'],
    ['C0-80', 'start c0 not below end 80'],
  ])('refuses %j saying why', async (name, why) => {
    const message = await refusal(() => validateShardName(name, 'shard.name'));
    expect(message).toContain('shard.name: ');
    expect(message).toContain(why);
  });
});

it('refuses a 65-character shard name even when it is a valid key range', async () => {
  const name = `${'00'.repeat(16)}-${'ff'.repeat(16)}`;
  expect(await refusal(() => validateShardName(name))).toContain('is 65 characters — at most 64');
});

describe('tablet aliases', () => {
  it.each([
    ['zone1-100', 'zone1', 100],
    ['zone1-0000000100', 'zone1', 100],
    ['us.east-1-42', 'us.east-1', 42],
    ['zone1-0', 'zone1', 0],
    ['zone1-4294967295', 'zone1', 4294967295],
  ])('parses %j', (text, cell, uid) => {
    expect(parseTabletAlias(text)).toEqual({ cell, uid });
  });

  it.each([
    ['zone1', 'is not a tablet alias'],
    ['zone1-', 'is not a tablet alias'],
    ['-100', 'is not a tablet alias'],
    ['zone/1-1', 'is not a tablet alias'],
    ['zone1-1a', 'is not a tablet alias'],
    ['zone1-4294967296', 'at most 4294967295'],
    ['zone1-99999999999999999999', 'at most 4294967295'],
    ['', 'is not a tablet alias'],
  ])('refuses %j', async (text, why) => {
    expect(await refusal(() => parseTabletAlias(text, 'tablet.alias'))).toContain(`tablet.alias: `);
    expect(await refusal(() => parseTabletAlias(text))).toContain(why);
  });

  it('formats <cell>-<uid padded to 10 digits>', () => {
    expect(tabletAliasString({ cell: 'zone1', uid: 100 })).toBe('zone1-0000000100');
    expect(tabletAliasString({ cell: 'z', uid: 4294967295 })).toBe('z-4294967295');
  });

  it.each([
    [{ cell: '', uid: 1 }, 'alias.cell: is empty'],
    [{ cell: 'a/b', uid: 1 }, `alias.cell: "a/b" has '/'`],
    [{ cell: 'zone1', uid: -1 }, 'alias.uid: -1 is not a uid'],
    [{ cell: 'zone1', uid: 2 ** 32 }, 'alias.uid: 4294967296 is not a uid'],
    [{ cell: 'zone1', uid: 1.5 }, 'alias.uid: 1.5 is not a uid'],
  ])('refuses the message %j', async (alias, why) => {
    expect(await refusal(() => validateTabletAlias(alias, 'alias'))).toContain(why);
  });
});

describe('enums', () => {
  it('accepts every known tablet type', () => {
    for (const type of [1, 2, 3, 4, 5, 6, 7, 8]) expect(validateTabletType(type)).toBe(type);
    expect(validateTabletType(TabletType.UNKNOWN, 'filter', { allowUnknown: true })).toBe(0);
  });

  it.each([9, -1, 1.5, 100, 0])('refuses tablet type %j', async (type) => {
    expect(await refusal(() => validateTabletType(type, 'tablet.type'))).toContain('tablet.type: ');
  });

  it('lists the known tablet types when refusing one', async () => {
    expect(await refusal(() => validateTabletType(9))).toContain('PRIMARY=1');
  });

  it('accepts known keyspace types and refuses others', async () => {
    expect(validateKeyspaceType(KeyspaceType.SNAPSHOT)).toBe(KeyspaceType.SNAPSHOT);
    expect(await refusal(() => validateKeyspaceType(2))).toContain('keyspace_type: 2 is not a keyspace type');
    expect(await refusal(() => validateKeyspaceType(-1))).toContain('is not a keyspace type');
  });
});

describe('other values', () => {
  it('limits opaque values to the store value size', async () => {
    expect(validateValueSize(new Uint8Array(MAX_VALUE_BYTES), 'vschema').byteLength).toBe(MAX_VALUE_BYTES);
    expect(await refusal(() => validateValueSize(new Uint8Array(MAX_VALUE_BYTES + 1), 'vschema'))).toContain(
      `vschema: ${MAX_VALUE_BYTES + 1} bytes is larger than the ${MAX_VALUE_BYTES}-byte limit`,
    );
  });

  it.each(['ks.wf', 'a', 'x_y-z.1'])('accepts lock name %j', (name) => {
    expect(validateLockName(name)).toBe(name);
  });

  it.each(['', '.', '..', '...', 'a/b', 'a b', 'é'])('refuses lock name %j', async (name) => {
    expect(await refusal(() => validateLockName(name))).toContain('lock_name: ');
  });

  it('accepts lock names of 128 characters and refuses 129', async () => {
    expect(validateLockName('a'.repeat(128))).toHaveLength(128);
    expect(await refusal(() => validateLockName('a'.repeat(129)))).toContain('is 129 characters — at most 128');
  });

  it.each(['', 'a\nb'])('refuses lock text %j', async (text) => {
    expect(await refusal(() => validateLockText(text, 'holder'))).toContain('holder: ');
  });

  it('refuses lock text over 1024 characters', async () => {
    expect(await refusal(() => validateLockText('x'.repeat(1025), 'holder'))).toContain('holder: is 1025 characters');
  });

  it.each(['/', '/topo/zone1', '/topo/zone1/'])('accepts cell root %j', (root) => {
    expect(validateCellRoot(root)).toBe(root);
  });

  it.each(['', 'topo', '/a//b', '/a/../b', '/a/./b', '/a\u0000'])('refuses cell root %j', async (root) => {
    expect(await refusal(() => validateCellRoot(root))).toContain('cell_info.root: ');
  });
});
