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
