import type { BatchMessage } from './messages';

export interface HistoryEntry {
  /** Position in the history; keeps counting across trims and resets. */
  readonly seq: number;
  readonly revision: bigint;
  readonly message: BatchMessage;
  /** When the batch was appended (the hub's clock). */
  readonly at: number;
  /** For a resync batch: the revision the hub was at before the backend watch was lost. */
  readonly resyncBase?: bigint;
}

// Drop the consumed head of the array once it is this long and at least half of it.
const COMPACT_AT = 1024;

/**
 * The batches of one prefix, oldest first. It holds every batch with revision > `floor`:
 * a resume from revision r is exact when r > floor, and impossible (Compacted) otherwise.
 */
export class History {
  private entries: HistoryEntry[] = [];
  private head = 0;
  private first = 0;
  private events = 0;
  private floorRevision: bigint;

  constructor(floor: bigint) {
    this.floorRevision = floor;
  }

  get floor(): bigint {
    return this.floorRevision;
  }

  /** Seq of the oldest batch held (== nextSeq when empty). */
  get firstSeq(): number {
    return this.first;
  }

  /** Seq the next appended batch gets. */
  get nextSeq(): number {
    return this.first + this.entries.length - this.head;
  }

  get batchCount(): number {
    return this.entries.length - this.head;
  }

  get eventCount(): number {
    return this.events;
  }

  /** Forgets everything: history restarts empty above `floor`. */
  reset(floor: bigint): void {
    this.first = this.nextSeq;
    this.entries = [];
    this.head = 0;
    this.events = 0;
    this.floorRevision = floor;
  }

  append(revision: bigint, message: BatchMessage, at: number, resyncBase?: bigint): HistoryEntry {
    const entry: HistoryEntry = { seq: this.nextSeq, revision, message, at, resyncBase };
    this.entries.push(entry);
    this.events += message.events.length;
    return entry;
  }

  /** The batch at `seq`; only for firstSeq <= seq < nextSeq. */
  at(seq: number): HistoryEntry {
    return this.entries[this.head + seq - this.first];
  }

  /** Seq of the first batch with revision >= `revision` (nextSeq when none). */
  seqAtOrAfter(revision: bigint): number {
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.entries[mid].revision < revision) low = mid + 1;
      else high = mid;
    }
    return this.first + low - this.head;
  }

  /**
   * Drops the oldest batches while they are older than `windowMs` or the history holds more
   * than `maxEvents` events. Returns how many batches were dropped.
   */
  trim(now: number, windowMs: number, maxEvents: number): number {
    let dropped = 0;
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head];
      if (this.events <= maxEvents && now - oldest.at <= windowMs) break;
      this.head += 1;
      this.first += 1;
      this.events -= oldest.message.events.length;
      this.floorRevision = oldest.revision;
      dropped += 1;
    }
    if (this.head >= COMPACT_AT && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }
}
