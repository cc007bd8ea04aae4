/**
 * What one subscription covers inside its backend watch: one or more directories (the
 * watch's own prefix, or directories below it). A cell's tablet watch covers `tablets` and
 * `liveness` through one watch of the cell's root, so a transaction touching both arrives
 * as one batch.
 */
export interface Scope {
  /** Normalized directories: no trailing '/', '' for everything. Sorted, without overlaps. */
  readonly dirs: readonly string[];
  /** Identifies the scope: subscriptions with equal keys see the same files. */
  readonly key: string;
  /** For messages. */
  readonly label: string;
  contains(path: string): boolean;
}

/** 'tablets' and 'tablets/' name one directory, '' and '/' the root. */
export function normalizeDir(dir: string): string {
  if (dir === '/') return '';
  return dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/** Whether `dir` is `ancestor` or lies below it. */
export function dirCovers(ancestor: string, dir: string): boolean {
  return ancestor === '' || dir === ancestor || dir.startsWith(`${ancestor}/`);
}

export function scopeOf(dirs: readonly string[]): Scope {
  const normalized = [...new Set(dirs.map(normalizeDir))].sort();
  // A directory inside another listed one adds nothing.
  const kept = normalized.filter((dir) => !normalized.some((other) => other !== dir && dirCovers(other, dir)));
  const prefixes = kept.map((dir) => (dir === '' ? '' : `${dir}/`));
  const whole = kept.includes('');
  return {
    dirs: Object.freeze(kept),
    key: JSON.stringify(kept),
    label: kept.length === 1 ? JSON.stringify(kept[0]) : JSON.stringify(kept),
    contains: whole
      ? (): boolean => true
      : prefixes.length === 1
        ? (path): boolean => path.startsWith(prefixes[0])
        : (path): boolean => prefixes.some((prefix) => path.startsWith(prefix)),
  };
}

/** The index range [start, end) of the files of `dir` in a list sorted by path. */
export function dirRange(sorted: readonly { path: string }[], dir: string): [number, number] {
  if (dir === '') return [0, sorted.length];
  // '0' follows '/': every path below `dir/` sorts in [`dir/`, `dir0`).
  return [lowerBound(sorted, `${dir}/`), lowerBound(sorted, `${dir}0`)];
}

function lowerBound(sorted: readonly { path: string }[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid].path < key) low = mid + 1;
    else high = mid;
  }
  return low;
}
