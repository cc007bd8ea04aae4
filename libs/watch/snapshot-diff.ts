import type { KVInfo } from '../store';
import type { HubEvent } from './messages';

/**
 * The events that turn `cached` (the hub's view before its backend watch was lost) into
 * `fresh` (a new snapshot taken at `revision`): a put for every file that is new or at
 * another version, a delete (at `revision`, the real one is unknown) for every file gone.
 * Ordered by path, deletes and puts mixed, like one transaction touching them all.
 */
export function diffSnapshot(
  cached: ReadonlyMap<string, KVInfo>,
  fresh: readonly KVInfo[],
  revision: bigint,
): HubEvent[] {
  const events: HubEvent[] = [];
  const present = new Set<string>();
  for (const entry of fresh) {
    present.add(entry.path);
    const before = cached.get(entry.path);
    if (before !== undefined && before.version === entry.version) continue;
    events.push(
      Object.freeze({
        type: 'put',
        path: entry.path,
        contents: entry.contents,
        version: entry.version,
        ...(before === undefined ? {} : { previous: before.contents }),
      }),
    );
  }
  for (const [path, before] of cached) {
    if (!present.has(path)) {
      events.push(Object.freeze({ type: 'delete', path, version: revision, previous: before.contents }));
    }
  }
  return events.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
