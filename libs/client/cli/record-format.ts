import { tabletTypeToJSON, type KeyRange, type TabletType, type Time } from '../../proto';

/** How records read in human output; JSON output uses the generated proto3 JSON instead. */

export function formatTime(time: Time | undefined): string {
  if (!time || time.seconds === '0') return '';
  return new Date(Number(time.seconds) * 1000 + Math.floor(time.nanoseconds / 1e6)).toISOString();
}

export function formatDate(date: Date | undefined): string {
  return date ? date.toISOString() : '';
}

/** Vitess's shard name form: hex start and end around '-', either side empty when open. */
export function formatKeyRange(range: KeyRange | undefined): string {
  if (!range) return '-';
  return `${Buffer.from(range.start).toString('hex')}-${Buffer.from(range.end).toString('hex')}`;
}

export function formatTabletType(type: TabletType): string {
  return tabletTypeToJSON(type);
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/**
 * JSON output reads like the human output: key ranges in hex (Vitess's shard-name form,
 * `{"start":"80","end":""}`) rather than proto3 JSON's base64, and every Vitess `Time`
 * (`{"seconds":..,"nanoseconds":..}`) as an RFC 3339 UTC string, the format of every other
 * time topoctl prints. Applied to every JSON document topoctl writes.
 */
export function readableJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => readableJson(item, key));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (/^keyRanges?$/.test(key) && Object.keys(record).every((k) => k === 'start' || k === 'end')) {
    const hex = (v: unknown): string => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : '');
    return { start: hex(record.start), end: hex(record.end) };
  }
  if (/[tT]ime$/.test(key) && Object.keys(record).every((k) => k === 'seconds' || k === 'nanoseconds')) {
    return formatTime({ seconds: String(record.seconds ?? '0'), nanoseconds: Number(record.nanoseconds ?? 0) }) || null;
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, readableJson(v, k)]));
}
