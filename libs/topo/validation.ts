/**
 * The one place that decides which names and values the topology accepts. Every check
 * throws `TopoError` `InvalidArgument` whose message starts with the field it was given
 * (`shard.name: ...`), so a server can report exactly which part of a request is wrong.
 * Names are refused before anything reaches the store.
 */
import { KeyspaceType, TabletType, type KeyRange, type TabletAlias } from '../proto';
import { MAX_VALUE_BYTES } from '../store';
import { parseKeyRange } from './key-range';
import { describeChar, fieldError, quote } from './private/field-error';

export const MAX_NAME_LENGTH = 64;
/** Named locks carry compound names such as `<keyspace>.<workflow>`. */
export const MAX_LOCK_NAME_LENGTH = 128;
export const MAX_LOCK_ACTION_LENGTH = 1024;
export const MAX_UID = 0xffff_ffff;
/** Room for any path or address a cell's CellInfo needs, far below the store's value limit. */
export const MAX_CELL_INFO_FIELD_BYTES = 1024;

interface CharClass {
  test(char: string): boolean;
  allowed: string;
}

const NAME_CHARS: CharClass = {
  test: (char) => /^[A-Za-z0-9_-]$/.test(char),
  allowed: "letters, digits, '_' and '-'",
};

const LOCK_NAME_CHARS: CharClass = {
  test: (char) => /^[A-Za-z0-9_.-]$/.test(char),
  allowed: "letters, digits, '_', '-' and '.'",
};

const TABLET_ALIAS = /^([-_.a-zA-Z0-9]+)-([0-9]+)$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw fieldError(field, `must be a string, got ${typeof value}`);
  return value;
}

function checkName(value: unknown, field: string, chars: CharClass, maxLength: number): string {
  const name = checkString(value, field);
  if (name === '') throw fieldError(field, `is empty — use 1 to ${maxLength} characters: ${chars.allowed}`);
  for (const char of name) {
    if (!chars.test(char)) throw fieldError(field, `${quote(name)} has ${describeChar(char)} — allowed: ${chars.allowed}`);
  }
  if (name.length > maxLength) {
    throw fieldError(field, `${quote(name)} is ${name.length} characters — at most ${maxLength}`);
  }
  return name;
}

/** A keyspace name: 1-64 of `[A-Za-z0-9_-]`. */
export function validateKeyspaceName(name: string, field = 'keyspace'): string {
  return checkName(name, field, NAME_CHARS, MAX_NAME_LENGTH);
}

/**
 * A shard name, as Vitess's ValidateShardName accepts it, within the keyspace-name
 * character rules: a name with a '-' is a hex key range `<start>-<end>` with start below
 * end (`-` alone the full range), its hex normalised to lowercase as Vitess does, so
 * `80-C0` and `80-c0` name the same shard; a name without one is a custom name (`0`, `x1`,
 * `main`) kept as given, whose shard has no key range (Vitess's custom sharding; the
 * returned range is the full one, which an unset range means). The canonical name is
 * returned.
 */
export function parseShardName(name: string, field = 'shard'): { name: string; keyRange: KeyRange; custom: boolean } {
  checkName(name, field, NAME_CHARS, MAX_NAME_LENGTH);
  if (!name.includes('-')) return { name, keyRange: parseKeyRange('-', field), custom: true };
  const canonical = name.toLowerCase();
  return { name: canonical, keyRange: parseKeyRange(canonical, field), custom: false };
}

/** True for a custom (non-range) shard name such as `0` or `x1`. */
export function isCustomShardName(name: string): boolean {
  return !name.includes('-');
}

/** The canonical (lowercase) form of a valid shard name. */
export function validateShardName(name: string, field = 'shard'): string {
  return parseShardName(name, field).name;
}

/** A cell name: 1-64 of `[A-Za-z0-9_-]`. */
export function validateCellName(name: string, field = 'cell'): string {
  return checkName(name, field, NAME_CHARS, MAX_NAME_LENGTH);
}

/** A cells alias name: the same rules as a cell name, since the two share one namespace. */
export function validateCellsAliasName(name: string, field = 'cells_alias'): string {
  return checkName(name, field, NAME_CHARS, MAX_NAME_LENGTH);
}

/** A named-lock name: 1-128 of `[A-Za-z0-9_.-]`, not only dots. */
export function validateLockName(name: string, field = 'lock_name'): string {
  checkName(name, field, LOCK_NAME_CHARS, MAX_LOCK_NAME_LENGTH);
  if (/^\.+$/.test(name)) throw fieldError(field, `${quote(name)} is only dots — use at least one letter or digit`);
  return name;
}

/**
 * Free text recorded in a lock's contents (what it is taken for, who holds it):
 * 1-1024 characters, no control characters.
 */
export function validateLockText(value: string, field = 'action'): string {
  const text = checkString(value, field);
  if (text === '') throw fieldError(field, 'is empty — say what the lock is taken for and by whom');
  const control = CONTROL.exec(text);
  if (control) throw fieldError(field, `${quote(text)} has ${describeChar(control[0])}`);
  if (text.length > MAX_LOCK_ACTION_LENGTH) {
    throw fieldError(field, `is ${text.length} characters — at most ${MAX_LOCK_ACTION_LENGTH}`);
  }
  return text;
}

/**
 * Lock contents given verbatim (Vitess's topo.Conn Lock passes indented JSON; its suite
 * passes ""): any text within the store's value limit, newlines and the empty string
 * included. Stored as given, so nothing else is checked.
 */
export function validateLockContents(value: string, field = 'contents'): string {
  const text = checkString(value, field);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_VALUE_BYTES) throw fieldError(field, `is ${bytes} bytes — at most ${MAX_VALUE_BYTES}`);
  return text;
}

function checkUid(uid: unknown, field: string): number {
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0 || uid > MAX_UID) {
    throw fieldError(field, `${String(uid)} is not a uid — a whole number from 0 to ${MAX_UID}`);
  }
  return uid;
}

function checkAliasCell(cell: unknown, field: string): string {
  const text = checkString(cell, field);
  if (text === '') throw fieldError(field, 'is empty — a tablet alias needs its cell');
  for (const char of text) {
    if (!/^[-_.a-zA-Z0-9]$/.test(char)) {
      throw fieldError(field, `${quote(text)} has ${describeChar(char)} — allowed: letters, digits, '_', '-' and '.'`);
    }
  }
  if (text.length > MAX_NAME_LENGTH) throw fieldError(field, `${quote(text)} is ${text.length} characters — at most ${MAX_NAME_LENGTH}`);
  return text;
}

/** Parses `<cell>-<uid>` (`^[-_.a-zA-Z0-9]+-[0-9]+$`, uid within uint32). */
export function parseTabletAlias(text: string, field = 'tablet_alias'): TabletAlias {
  const value = checkString(text, field);
  const match = TABLET_ALIAS.exec(value);
  if (!match) {
    throw fieldError(field, `${quote(value)} is not a tablet alias — expected '<cell>-<uid>' such as 'zone1-0000000100'`);
  }
  checkAliasCell(match[1], field);
  const digits = match[2].replace(/^0+(?=\d)/, '');
  const uid = digits.length > 10 ? Number.POSITIVE_INFINITY : Number(digits);
  if (uid > MAX_UID) throw fieldError(field, `${quote(value)} has uid ${match[2]} — at most ${MAX_UID}`);
  return { cell: match[1], uid };
}

/** Checks a TabletAlias message: a cell as the alias pattern allows it and a uint32 uid. */
export function validateTabletAlias(alias: TabletAlias | undefined, field = 'tablet_alias'): TabletAlias {
  if (alias === undefined || alias === null) throw fieldError(field, 'is missing');
  checkAliasCell(alias.cell, `${field}.cell`);
  checkUid(alias.uid, `${field}.uid`);
  return alias;
}

/** `<cell>-<uid padded to 10 digits>`, the form used in paths and by Vitess tools. */
export function tabletAliasString(alias: TabletAlias): string {
  validateTabletAlias(alias);
  return `${alias.cell}-${String(alias.uid).padStart(10, '0')}`;
}

const TABLET_TYPES = new Set<number>(Object.values(TabletType).filter((v): v is number => typeof v === 'number' && v >= 0));
const KEYSPACE_TYPES = new Set<number>(Object.values(KeyspaceType).filter((v): v is number => typeof v === 'number' && v >= 0));

function enumNames(values: Record<string, string | number>, known: Set<number>): string {
  return Object.entries(values)
    .filter(([, v]) => typeof v === 'number' && known.has(v))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/**
 * A TabletType that exists in topodata.proto. UNKNOWN (0) is refused unless allowed: it
 * is the proto default, not a role a tablet can have.
 */
export function validateTabletType(
  type: number,
  field = 'tablet_type',
  options: { allowUnknown?: boolean } = {},
): TabletType {
  if (typeof type !== 'number' || !TABLET_TYPES.has(type)) {
    throw fieldError(field, `${String(type)} is not a tablet type — known: ${enumNames(TabletType, TABLET_TYPES)}`);
  }
  if (type === TabletType.UNKNOWN && !options.allowUnknown) {
    throw fieldError(field, 'UNKNOWN (0) is not a tablet type a tablet can have');
  }
  return type as TabletType;
}

export function validateKeyspaceType(type: number, field = 'keyspace_type'): KeyspaceType {
  if (typeof type !== 'number' || !KEYSPACE_TYPES.has(type)) {
    throw fieldError(field, `${String(type)} is not a keyspace type — known: ${enumNames(KeyspaceType, KEYSPACE_TYPES)}`);
  }
  return type as KeyspaceType;
}

/** Opaque values (vschema, routing rules) must fit one store value. */
/** The part of a generated message type a record check needs. */
export interface BinaryCodec<T> {
  decode(input: Uint8Array): T;
}

/**
 * A value Vitess stores as a binary protobuf (`vschema.Keyspace`, `vschema.RoutingRules`,
 * `vschema.SrvVSchema`): within the size limit and decoding as that message. JSON, which
 * earlier releases accepted, does not decode (a '{' starts a group that never ends).
 */
export function validateProtoBytes<T>(contents: Uint8Array, codec: BinaryCodec<T>, field: string, message: string): T {
  validateValueSize(contents, field);
  try {
    return codec.decode(contents);
  } catch (err) {
    throw fieldError(field, `is not a binary ${message} protobuf (${(err as Error).message})`);
  }
}

export function validateValueSize(contents: Uint8Array, field: string): Uint8Array {
  if (!(contents instanceof Uint8Array)) throw fieldError(field, 'must be bytes');
  if (contents.byteLength > MAX_VALUE_BYTES) {
    throw fieldError(field, `${contents.byteLength} bytes is larger than the ${MAX_VALUE_BYTES}-byte limit`);
  }
  return contents;
}

function checkText(value: unknown, field: string): string {
  const text = checkString(value, field);
  const control = CONTROL.exec(text);
  if (control) throw fieldError(field, `${quote(text)} has ${describeChar(control[0])}`);
  if (Buffer.byteLength(text, 'utf8') > MAX_CELL_INFO_FIELD_BYTES) {
    throw fieldError(field, `is longer than ${MAX_CELL_INFO_FIELD_BYTES} bytes`);
  }
  return text;
}

/**
 * A cell's root: where its data lives in its own store, an absolute path such as
 * `/topo/zone1` (required, as Vitess's AddCellInfo requires it).
 */
export function validateCellRoot(root: string, field = 'cell_info.root'): string {
  const text = checkText(root, field);
  if (text === '') throw fieldError(field, "is empty — give the path the cell's data lives under, such as '/topo/zone1'");
  if (!text.startsWith('/')) throw fieldError(field, `${quote(text)} must start with '/'`);
  const body = text.slice(1).replace(/\/$/, '');
  if (body !== '') {
    for (const segment of body.split('/')) {
      if (segment === '' || segment === '.' || segment === '..') {
        throw fieldError(field, `${quote(text)} has an empty, '.' or '..' segment`);
      }
    }
  }
  return text;
}

/** The address of a cell's topology service; its syntax belongs to the backend, so only its size and characters are checked. */
export function validateServerAddress(address: string, field = 'cell_info.server_address'): string {
  return checkText(address, field);
}
