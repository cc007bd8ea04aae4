/**
 * Key ranges as Vitess's `key` package treats them: a range holds keyspace ids from
 * `start` (inclusive) to `end` (exclusive); an empty start is minus infinity, an empty end
 * plus infinity. Bounds compare with trailing zero bytes ignored, so `80`, `8000` and
 * `800000` are the same bound (Vitess `key.Normalize`).
 */
import type { KeyRange } from '../proto';
import { describeChar, fieldError, quote } from './private/field-error';

const HEX_DIGIT = /^[0-9a-fA-F]$/;

/** The range covering every keyspace id: both bounds empty. */
export function fullKeyRange(): KeyRange {
  return { start: Buffer.alloc(0), end: Buffer.alloc(0) };
}

/**
 * Parses the text form of a key range: `<start hex>-<end hex>` with either side empty,
 * whole bytes on each side and start below end; `-` and `0` (Vitess's unsharded shard name)
 * are the full range. Hex digits may be in either case.
 */
export function parseKeyRange(text: string, field = 'key_range'): KeyRange {
  if (text === '0' || text === '-') return fullKeyRange();
  const dash = text.indexOf('-');
  if (dash === -1) {
    throw fieldError(field, `${quote(text)} is not a key range — expected '<start hex>-<end hex>' (either side may be empty), '-' or '0'`);
  }
  if (text.indexOf('-', dash + 1) !== -1) {
    throw fieldError(field, `${quote(text)} has more than one '-' — a key range is '<start hex>-<end hex>'`);
  }
  const start = decodeBound(text, text.slice(0, dash), 'start', field);
  const end = decodeBound(text, text.slice(dash + 1), 'end', field);
  if (end.length > 0 && compareKeyspaceIds(start, end) >= 0) {
    const endHex = end.toString('hex');
    const startHex = start.length === 0 ? '(empty)' : start.toString('hex');
    throw fieldError(field, `${quote(text)} has start ${startHex} not below end ${endHex} — the range would be empty`);
  }
  return { start, end };
}

function decodeBound(text: string, hex: string, side: 'start' | 'end', field: string): Buffer {
  for (const char of hex) {
    if (!HEX_DIGIT.test(char)) {
      throw fieldError(field, `${quote(text)} has ${describeChar(char)} in its ${side} — bounds are hex digits`);
    }
  }
  if (hex.length % 2 !== 0) {
    throw fieldError(field, `${quote(text)} has an odd number of hex digits in its ${side} ('${hex}') — bounds are whole bytes`);
  }
  return Buffer.from(hex, 'hex');
}

/** Vitess `key.KeyRangeString`: `-` for the full range, else lowercase `<start>-<end>`. */
export function keyRangeString(range: KeyRange | undefined): string {
  if (isFullKeyRange(range)) return '-';
  return `${Buffer.from(range!.start).toString('hex')}-${Buffer.from(range!.end).toString('hex')}`;
}

function normalize(id: Uint8Array): Uint8Array {
  let length = id.length;
  while (length > 0 && id[length - 1] === 0) length--;
  return id.subarray(0, length);
}

/** Compares two keyspace ids or bounds with trailing zero bytes ignored: -1, 0 or 1. */
export function compareKeyspaceIds(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(normalize(a), normalize(b));
}

function isEmptyKey(id: Uint8Array): boolean {
  return normalize(id).length === 0;
}

/** True for an unset range and for one whose bounds are both empty. */
export function isFullKeyRange(range: KeyRange | undefined): boolean {
  return range === undefined || (isEmptyKey(range.start) && isEmptyKey(range.end));
}

function compareStarts(a: KeyRange | undefined, b: KeyRange | undefined): number {
  const aMin = a === undefined || isEmptyKey(a.start);
  const bMin = b === undefined || isEmptyKey(b.start);
  if (aMin || bMin) return aMin === bMin ? 0 : aMin ? -1 : 1;
  return compareKeyspaceIds(a!.start, b!.start);
}

function compareEnds(a: KeyRange | undefined, b: KeyRange | undefined): number {
  const aMax = a === undefined || isEmptyKey(a.end);
  const bMax = b === undefined || isEmptyKey(b.end);
  if (aMax || bMax) return aMax === bMax ? 0 : aMax ? 1 : -1;
  return compareKeyspaceIds(a!.end, b!.end);
}

/** Orders ranges by start, then end (Vitess `key.KeyRangeCompare`). */
export function compareKeyRanges(a: KeyRange | undefined, b: KeyRange | undefined): number {
  return compareStarts(a, b) || compareEnds(a, b);
}

export function keyRangeEquals(a: KeyRange | undefined, b: KeyRange | undefined): boolean {
  return compareKeyRanges(a, b) === 0;
}

/** True when some keyspace id lies in both ranges (Vitess `key.KeyRangeIntersect`). */
export function keyRangesOverlap(a: KeyRange | undefined, b: KeyRange | undefined): boolean {
  if (isFullKeyRange(a) || isFullKeyRange(b)) return true;
  return (
    (isEmptyKey(a!.end) || compareKeyspaceIds(b!.start, a!.end) < 0) &&
    (isEmptyKey(b!.end) || compareKeyspaceIds(a!.start, b!.end) < 0)
  );
}

/** True when the keyspace id lies in the range (Vitess `key.KeyRangeContains`). */
export function keyRangeContains(range: KeyRange | undefined, id: Uint8Array): boolean {
  if (isFullKeyRange(range)) return true;
  return (
    (isEmptyKey(range!.start) || compareKeyspaceIds(id, range!.start) >= 0) &&
    (isEmptyKey(range!.end) || compareKeyspaceIds(id, range!.end) < 0)
  );
}

/** True when `outer` holds every keyspace id of `inner` (Vitess `key.KeyRangeContainsKeyRange`). */
export function keyRangeContainsKeyRange(outer: KeyRange | undefined, inner: KeyRange | undefined): boolean {
  if (isFullKeyRange(outer)) return true;
  if (isFullKeyRange(inner)) return false;
  return compareStarts(inner, outer) >= 0 && compareEnds(inner, outer) <= 0;
}
