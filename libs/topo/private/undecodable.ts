import type { KVInfo } from '../../store';
import type { MessageCodec } from './proto-record';

/**
 * Decodes a listed record, or notes its path in `skipped` and returns undefined: a record
 * that does not decode (written by another tool, or before path writes were checked) is
 * left out of a list instead of failing it.
 */
export function decodeListed<T>(codec: MessageCodec<T>, kv: KVInfo, skipped: string[] | undefined): T | undefined {
  try {
    return codec.decode(kv.contents);
  } catch {
    skipped?.push(kv.path);
    return undefined;
  }
}
