/**
 * Packing encoded changes into watch messages of bounded size. A watch message is a small
 * header followed by its repeated `changes` field, and an encoded repeated field is just its
 * entries one after another: so a message is built by concatenating changes that were each
 * encoded once, and split wherever the size bound says, without re-encoding anything.
 */
import { grpcFrame } from './grpc-frames';

/**
 * The most bytes of changes one message carries: far below gRPC's 4 MiB default receive
 * limit and the 1 MiB no message of these services exceeds, however large a cell grows.
 */
export const MAX_CHANGES_BYTES = 512 * 1024;

/** One entry of a repeated length-delimited field: its tag, the length as a varint, the bytes. */
export function repeatedEntry(tag: number, body: Uint8Array): Buffer {
  const length: number[] = [];
  let n = body.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  const entry = Buffer.allocUnsafe(1 + length.length + body.length);
  entry[0] = tag;
  entry.set(length, 1);
  entry.set(body, 1 + length.length);
  return entry;
}

/** What a message's header says about the changes behind it. */
export interface PackedMessage {
  revision: bigint;
  /** Whole transactions in the message (a split transaction counts in its last part). */
  transactions: number;
  /** More of the same transaction follows in the next message. */
  continued: boolean;
  resync: boolean;
}

/** One transaction's encoded changes. */
export interface EncodedTransaction {
  revision: bigint;
  changes: readonly Buffer[];
  resync?: boolean;
}

/**
 * Frames for `transactions`, in order: whole transactions packed into messages of at most
 * MAX_CHANGES_BYTES of changes; a transaction larger than that is split over messages
 * flagged `continued` (all but its last part). A transaction with no changes for this
 * subscriber adds nothing, except a resync (it says the view was healed). A resync
 * transaction is never packed with another.
 */
export function packTransactions(transactions: readonly EncodedTransaction[], header: (message: PackedMessage) => Uint8Array): Buffer[] {
  const frames: Buffer[] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  let count = 0;
  let revision = 0n;
  const flush = (continued: boolean, resync: boolean): void => {
    frames.push(grpcFrame([header({ revision, transactions: count, continued, resync }), ...parts]));
    parts = [];
    bytes = 0;
    count = 0;
  };
  for (const transaction of transactions) {
    const { changes } = transaction;
    const resync = transaction.resync === true;
    if (changes.length === 0 && !resync) continue;
    const size = changes.reduce((total, change) => total + change.byteLength, 0);
    if (count > 0 && (resync || bytes + size > MAX_CHANGES_BYTES)) flush(false, false);
    revision = transaction.revision;
    for (const change of changes) {
      // Only a transaction too large for one message gets here with parts already queued.
      if (bytes > 0 && bytes + change.byteLength > MAX_CHANGES_BYTES) flush(true, resync);
      parts.push(change);
      bytes += change.byteLength;
    }
    count += 1;
    if (resync) flush(false, true);
  }
  if (count > 0) flush(false, false);
  return frames;
}

/**
 * A snapshot as messages of at most MAX_CHANGES_BYTES of changes each: at least one,
 * possibly empty. `header(continued)` encodes each message's header.
 */
export function packSnapshot(changes: Iterable<Buffer>, header: (continued: boolean) => Uint8Array): Buffer[] {
  const chunks: Buffer[][] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  for (const change of changes) {
    if (parts.length > 0 && bytes + change.byteLength > MAX_CHANGES_BYTES) {
      chunks.push(parts);
      parts = [];
      bytes = 0;
    }
    parts.push(change);
    bytes += change.byteLength;
  }
  chunks.push(parts);
  return chunks.map((chunk, index) => grpcFrame([header(index < chunks.length - 1), ...chunk]));
}
