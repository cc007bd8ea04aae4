import type { KeyValue, WatchEvent } from '../engine';
import { TopoError, TopoErrorCode } from '../errors';
import { type Keyed, SortedKeyIndex, keyBytes } from './key-index';
import { Queue } from './queue';

/** A key's state from `revision` on: its value, or a tombstone when `kv` is undefined. */
interface KeyState {
  readonly revision: bigint;
  readonly kv: KeyValue | undefined;
}

/** Every retained state of one key, oldest first. */
interface KeyRecord extends Keyed {
  readonly history: KeyState[];
}

/** The events of one revision (one transaction), in the order its ops ran. */
export interface RevisionEntry {
  readonly revision: bigint;
  readonly events: readonly WatchEvent[];
}

const EMPTY = new Uint8Array(0);

/** A copy for callers: they may mutate what they get without touching the store. */
export function copyKeyValue(kv: KeyValue, keysOnly = false): KeyValue {
  return { ...kv, value: keysOnly ? new Uint8Array(0) : new Uint8Array(kv.value) };
}

const latest = (record: KeyRecord): KeyValue | undefined => record.history[record.history.length - 1]?.kv;

function stateAt(record: KeyRecord, revision: bigint): KeyValue | undefined {
  for (let i = record.history.length - 1; i >= 0; i -= 1) {
    if (record.history[i].revision <= revision) return record.history[i].kv;
  }
  return undefined;
}

function select(keys: SortedKeyIndex<KeyRecord>, key: string, prefix: boolean): KeyRecord[] {
  if (prefix) return keys.withPrefix(key);
  const record = keys.get(key);
  return record ? [record] : [];
}

/**
 * The revisioned key space, as etcd's mvcc package keeps it: one store revision, bumped
 * once per transaction that changes something; per key, its states by revision (so reads
 * at a past revision can be answered); and the log of events per revision (so watches can
 * replay). Both are cut at the compact revision. Objects held here are never mutated
 * after they are stored; the engine copies values on the way in and out.
 */
export class MvccStore {
  private current = 1n;
  private compacted = 0n;
  private readonly keys = new SortedKeyIndex<KeyRecord>();
  /** One entry per revision above 1, contiguous, from the compact revision on. */
  private readonly log = new Queue<RevisionEntry>();

  constructor(private readonly historyLimit: number) {}

  get revision(): bigint {
    return this.current;
  }

  /** Reads and watches below this revision fail with Compacted; 0n before any compaction. */
  get compactRevision(): bigint {
    return this.compacted;
  }

  latest(key: string): KeyValue | undefined {
    const record = this.keys.get(key);
    return record ? latest(record) : undefined;
  }

  /** Live keys at `at` (default: now), byte order. */
  range(key: string, prefix: boolean, at?: bigint): KeyValue[] {
    const revision = at === undefined || at <= 0n ? this.current : at;
    if (revision > this.current) {
      throw new TopoError(
        TopoErrorCode.InvalidArgument,
        `required revision ${revision} is a future revision (current ${this.current})`,
      );
    }
    this.assertRetained(revision);
    const kvs: KeyValue[] = [];
    for (const record of select(this.keys, key, prefix)) {
      const kv = revision === this.current ? latest(record) : stateAt(record, revision);
      if (kv) kvs.push(kv);
    }
    return kvs;
  }

  assertRetained(revision: bigint): void {
    if (revision < this.compacted) {
      throw new TopoError(
        TopoErrorCode.Compacted,
        `required revision ${revision} has been compacted (compact revision ${this.compacted})`,
      );
    }
  }

  /** The log from revision `from` on, oldest first; the caller has checked `from` is retained. */
  *replay(from: bigint): Generator<RevisionEntry> {
    const first = this.log.at(0);
    if (!first) return;
    for (let i = from > first.revision ? Number(from - first.revision) : 0; i < this.log.length; i += 1) {
      const entry = this.log.at(i);
      if (entry) yield entry;
    }
  }

  /** Starts the writes of one transaction at the next revision. */
  write(): WriteBatch {
    return new WriteBatch(this.current + 1n, this.keys, (entry) => this.commit(entry));
  }

  /** Drops history below `revision`, like etcd's compact: the state at `revision` stays readable. */
  compact(revision: bigint): void {
    if (revision > this.current) {
      throw new TopoError(
        TopoErrorCode.InvalidArgument,
        `required revision ${revision} is a future revision (current ${this.current})`,
      );
    }
    if (revision <= this.compacted) {
      throw new TopoError(
        TopoErrorCode.Compacted,
        `required revision ${revision} has been compacted (compact revision ${this.compacted})`,
      );
    }
    this.compactTo(revision);
  }

  private commit(entry: RevisionEntry): void {
    this.current = entry.revision;
    this.log.push(entry);
    const limit = BigInt(this.historyLimit);
    const floor = this.compacted > 1n ? this.compacted : 1n;
    if (this.current - floor + 1n > limit) this.compactTo(this.current - limit + 1n);
  }

  /**
   * Only keys written in the dropped revisions can have states to drop, so compaction
   * costs the dropped events, not the key count; that keeps the history limit cheap.
   */
  private compactTo(revision: bigint): void {
    const touched = new Set<string>();
    for (let entry = this.log.at(0); entry && entry.revision < revision; entry = this.log.at(0)) {
      this.log.shift();
      for (const event of entry.events) touched.add(event.kv.key);
    }
    for (const key of touched) {
      const record = this.keys.get(key);
      if (record) this.prune(record, revision);
    }
    this.compacted = revision;
  }

  /** Keeps the key's state at `revision` (unless it is a tombstone) and everything after. */
  private prune(record: KeyRecord, revision: bigint): void {
    let keep = -1;
    for (let i = record.history.length - 1; i >= 0; i -= 1) {
      if (record.history[i].revision <= revision) {
        keep = i;
        break;
      }
    }
    if (keep < 0) return;
    const drop = record.history[keep].kv ? keep : keep + 1;
    record.history.splice(0, drop);
    if (record.history.length === 0) this.keys.remove(record);
  }
}

/**
 * The writes of one transaction, applied in place at `revision` so later ops of the same
 * transaction see earlier ones (as in etcd). Nobody else can observe the store until the
 * synchronous transaction ends with `commit`, which makes the revision current only when
 * something changed.
 */
export class WriteBatch {
  private readonly events: WatchEvent[] = [];

  constructor(
    readonly revision: bigint,
    private readonly keys: SortedKeyIndex<KeyRecord>,
    private readonly onCommit: (entry: RevisionEntry) => void,
  ) {}

  get(key: string, prefix: boolean): KeyValue[] {
    const kvs: KeyValue[] = [];
    for (const record of select(this.keys, key, prefix)) {
      const kv = latest(record);
      if (kv) kvs.push(kv);
    }
    return kvs;
  }

  /** Writes `value` (owned by the store from now on); returns the previous value if any. */
  put(key: string, value: Uint8Array, lease: bigint): KeyValue | undefined {
    let record = this.keys.get(key);
    if (!record) {
      record = { key, bytes: keyBytes(key), history: [] };
      this.keys.insert(record);
    }
    const previous = latest(record);
    const kv: KeyValue = {
      key,
      value,
      createRevision: previous ? previous.createRevision : this.revision,
      modRevision: this.revision,
      version: previous ? previous.version + 1n : 1n,
      lease,
    };
    record.history.push({ revision: this.revision, kv });
    this.events.push({ type: 'put', kv });
    return previous;
  }

  /** Deletes the live keys matching; returns their previous values. Missing keys write nothing. */
  delete(key: string, prefix: boolean): KeyValue[] {
    const deleted: KeyValue[] = [];
    for (const record of select(this.keys, key, prefix)) {
      const previous = latest(record);
      if (!previous) continue;
      record.history.push({ revision: this.revision, kv: undefined });
      this.events.push({
        type: 'delete',
        kv: { key: record.key, value: EMPTY, createRevision: 0n, modRevision: this.revision, version: 0n, lease: 0n },
      });
      deleted.push(previous);
    }
    return deleted;
  }

  /** Makes the writes current; undefined (and no new revision) when nothing changed. */
  commit(): RevisionEntry | undefined {
    if (this.events.length === 0) return undefined;
    const entry: RevisionEntry = { revision: this.revision, events: this.events };
    this.onCommit(entry);
    return entry;
  }
}
