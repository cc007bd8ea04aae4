import { TabletType, type TabletAlias } from '../../proto';
import { UsageError } from './command';

/**
 * Turns operator input into request fields. Only what the CLI needs to route and build a
 * request is checked here; the services validate names and values with the one
 * validation module and answer INVALID_ARGUMENT.
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10s`, `500ms`, `2m`, `1h`; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new UsageError(`--${flag} ${JSON.stringify(text)} is not a duration: use 500ms, 10s, 2m or 1h`);
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's'];
  if (!(ms > 0)) throw new UsageError(`--${flag} must be longer than 0`);
  return ms;
}

/** A protobuf Duration of whole milliseconds. */
export function durationMessage(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

const ALIAS = /^([-_.a-zA-Z0-9]+)-([0-9]+)$/;
/** A tablet uid is a uint32, as in Vitess's topodata.TabletAlias. */
export const MAX_UID = 4_294_967_295;

/** `zone1-100` or `zone1-0000000100`. */
export function parseAlias(text: string): TabletAlias {
  const match = ALIAS.exec(text);
  const uid = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(uid)) {
    throw new UsageError(`${JSON.stringify(text)} is not a tablet alias: expected <cell>-<uid> such as zone1-100`);
  }
  if (uid > MAX_UID) throw new UsageError(`${JSON.stringify(text)}: the uid ${match[2]} is larger than ${MAX_UID} (a uint32)`);
  return { cell: match[1], uid };
}

/** A duration in whole seconds within [minS, maxS], checked before any call is made. */
export function parseWholeSeconds(text: string, flag: string, minS: number, maxS: number): number {
  const ms = parseDuration(text, flag);
  const range = `whole seconds from ${minS}s to ${maxS >= 3600 && maxS % 3600 === 0 ? `${maxS / 3600}h` : `${maxS}s`}`;
  if (ms % 1000 !== 0 || ms < minS * 1000 || ms > maxS * 1000) throw new UsageError(`--${flag} ${text}: must be ${range}`);
  return ms;
}

/** The form used in paths and by Vitess tools: the uid padded to 10 digits. */
export function formatAlias(alias: TabletAlias | undefined): string {
  return alias ? `${alias.cell}-${String(alias.uid).padStart(10, '0')}` : '';
}

const TYPE_NAMES = Object.keys(TabletType).filter(
  (name) => Number.isNaN(Number(name)) && name !== 'UNKNOWN' && name !== 'UNRECOGNIZED',
);

export function parseTabletType(text: string): TabletType {
  const name = text.toUpperCase();
  if (!TYPE_NAMES.includes(name)) {
    throw new UsageError(`${JSON.stringify(text)} is not a tablet type: one of ${TYPE_NAMES.join(', ')}`);
  }
  return TabletType[name as keyof typeof TabletType];
}

/** `KS/SHARD`; shard names such as `-80` contain no '/', so the first '/' splits. */
export function parseShardPath(text: string): { keyspace: string; shard: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new UsageError(`${JSON.stringify(text)} is not KEYSPACE/SHARD, such as commerce/-80`);
  }
  return { keyspace: text.slice(0, slash), shard: text.slice(slash + 1) };
}

/** `name=value` pairs such as `--port grpc=15100`. */
export function parsePairs(values: string[], flag: string): Array<[string, string]> {
  return values.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} ${JSON.stringify(pair)} must be NAME=VALUE`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

/** A non-negative whole number given as text, kept as text for int64 fields. */
export function parseVersion(text: string, flag: string): string {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} ${JSON.stringify(text)} must be a whole number`);
  return BigInt(text).toString();
}
