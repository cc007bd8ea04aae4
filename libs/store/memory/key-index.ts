/** Something stored under a key, with the key's UTF-8 bytes (etcd orders keys by bytes). */
export interface Keyed {
  readonly key: string;
  readonly bytes: Buffer;
}

export const keyBytes = (key: string): Buffer => Buffer.from(key, 'utf8');

/**
 * Records kept in UTF-8 byte order of their keys, as etcd returns them. JavaScript string
 * comparison orders UTF-16 code units, which differs from byte order above U+FFFF.
 */
export class SortedKeyIndex<T extends Keyed> {
  private readonly byKey = new Map<string, T>();
  private readonly sorted: T[] = [];

  get size(): number {
    return this.sorted.length;
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  insert(record: T): void {
    if (this.byKey.has(record.key)) return;
    this.byKey.set(record.key, record);
    this.sorted.splice(this.lowerBound(record.bytes), 0, record);
  }

  remove(record: T): void {
    if (this.byKey.get(record.key) !== record) return;
    this.byKey.delete(record.key);
    const index = this.lowerBound(record.bytes);
    if (this.sorted[index] === record) this.sorted.splice(index, 1);
  }

  /** Records whose key starts with `prefix`, in byte order. */
  withPrefix(prefix: string): T[] {
    const bytes = keyBytes(prefix);
    const found: T[] = [];
    for (let i = this.lowerBound(bytes); i < this.sorted.length; i += 1) {
      const candidate = this.sorted[i].bytes;
      if (candidate.length < bytes.length || candidate.compare(bytes, 0, bytes.length, 0, bytes.length) !== 0) break;
      found.push(this.sorted[i]);
    }
    return found;
  }

  /** First position whose key is not below `bytes`. */
  private lowerBound(bytes: Buffer): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (Buffer.compare(this.sorted[mid].bytes, bytes) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
