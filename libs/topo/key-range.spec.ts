import type { KeyRange } from '../proto';
import { TopoErrorCode } from '../store';
import {
  compareKeyRanges,
  isFullKeyRange,
  keyRangeContains,
  keyRangeContainsKeyRange,
  keyRangeEquals,
  keyRangeString,
  keyRangesOverlap,
  parseKeyRange,
} from './key-range';
import { rejection } from './private/memory-store.fixture';

const kr = (text: string): KeyRange => parseKeyRange(text);
const id = (hex: string): Uint8Array => Buffer.from(hex, 'hex');

describe('parseKeyRange', () => {
  it('reads -80 as empty start and end 0x80', () => {
    const range = kr('-80');
    expect([...range.start]).toEqual([]);
    expect([...range.end]).toEqual([0x80]);
  });

  it('reads 80- as start 0x80 and empty end', () => {
    const range = kr('80-');
    expect([...range.start]).toEqual([0x80]);
    expect([...range.end]).toEqual([]);
  });

  it.each(['-', '0'])('reads %j as the full range', (text) => {
    expect(isFullKeyRange(kr(text))).toBe(true);
    expect(keyRangeString(kr(text))).toBe('-');
  });

  it('reads hex digits in either case', () => {
    expect([...kr('C0-').start]).toEqual([0xc0]);
  });

  it('refuses a range whose start is not below its end, naming the field', async () => {
    const err = await rejection(() => parseKeyRange('80-40', 'split.key_range'));
    expect(err.code).toBe(TopoErrorCode.InvalidArgument);
    expect(err.message).toContain('split.key_range: "80-40" has start 80 not below end 40');
  });
});

describe('keyRangeString', () => {
  it.each(['-80', '80-', '40-80', '-4000', '0080-'])('round-trips %j', (text) => {
    expect(keyRangeString(kr(text))).toBe(text);
  });

  it('prints a range whose bounds are all zero bytes as the full range', () => {
    expect(keyRangeString(kr('00-'))).toBe('-');
  });

  it('prints an unset range as the full range', () => {
    expect(keyRangeString(undefined)).toBe('-');
  });
});

describe('keyRangesOverlap', () => {
  it.each([
    ['-80', '80-', false],
    ['80-', '-80', false],
    ['-80', '40-c0', true],
    ['40-80', '80-c0', false],
    ['40-80', '7f-81', true],
    ['-', '40-80', true],
    ['-80', '8000-', false],
    ['-8000', '80-', false],
    ['-8001', '80-', true],
    ['40-80', '40-80', true],
    ['00-40', '-40', true],
  ])('%j and %j: %j', (a, b, expected) => {
    expect(keyRangesOverlap(kr(a), kr(b))).toBe(expected);
    expect(keyRangesOverlap(kr(b), kr(a))).toBe(expected);
  });

  it('treats an unset range as the full range, as Vitess treats a nil one', () => {
    expect(keyRangesOverlap(undefined, kr('c0-'))).toBe(true);
  });
});

describe('keyRangeContains', () => {
  it.each([
    ['-80', '7f', true],
    ['-80', '80', false],
    ['-80', '', true],
    ['80-', '80', true],
    ['80-', 'ffffffff', true],
    ['80-', '7fffffff', false],
    ['40-80', '4000000000000000', true],
    ['40-80', '8000000000000000', false],
    ['-', 'ab', true],
  ])('%j contains %j: %j', (range, key, expected) => {
    expect(keyRangeContains(kr(range), id(key))).toBe(expected);
  });
});

describe('keyRangeContainsKeyRange', () => {
  it.each([
    ['-', '40-80', true],
    ['-80', '40-80', true],
    ['-80', '40-c0', false],
    ['40-80', '-', false],
    ['80-', 'c0-', true],
    ['-80', '-8000', true],
  ])('%j contains %j: %j', (outer, inner, expected) => {
    expect(keyRangeContainsKeyRange(kr(outer), kr(inner))).toBe(expected);
  });
});

describe('ordering and equality', () => {
  it('sorts by start, then end, with an empty end last', () => {
    const sorted = ['80-', '40-80', '-40', '40-', '-'].map(kr).sort(compareKeyRanges).map(keyRangeString);
    expect(sorted).toEqual(['-40', '-', '40-80', '40-', '80-']);
  });

  it('ignores trailing zero bytes, as Vitess key.Normalize does', () => {
    expect(keyRangeEquals(kr('-80'), kr('00-8000'))).toBe(true);
    expect(keyRangeEquals(kr('-80'), kr('-81'))).toBe(false);
    expect(keyRangeEquals(undefined, kr('-'))).toBe(true);
  });
});
