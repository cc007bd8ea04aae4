/** Options shared by the topology's writes. */
import type { Fence, Version } from '../store';

export interface FenceOption {
  /**
   * A held lock's fence (`LockDescriptor.fence`): the write is refused with LockLost,
   * atomically, unless that lock is still held.
   */
  fence?: Fence;
}

export interface VersionedWriteOptions extends FenceOption {
  /**
   * Act on exactly this version: BadVersion if the value changed, NoNode if it is gone.
   * Unset: saves are upserts, deletes unconditional, read-modify-write retries on conflict.
   */
  version?: Version;
}

/**
 * Changes a record in place. Return `false` to leave it as it is (Vitess's
 * NoUpdateNeeded); anything else writes the changed record.
 */
export type FieldUpdate<T> = (value: T) => boolean | void;
