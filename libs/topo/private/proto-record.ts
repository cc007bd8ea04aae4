import { TopoError, TopoErrorCode, type Store, type Version } from '../../store';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from '../write-options';

/** The part of a ts-proto message object the records need. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** Rounds of read-modify-write before a contended update gives up with BadVersion. */
export const MAX_UPDATE_ATTEMPTS = 32;

/**
 * Reads and writes one proto-encoded file, turning the store's path-level errors into
 * messages about the record (`keyspace "ks" doesn't exist`) with the same codes.
 */
export class ProtoRecord<T> {
  constructor(
    private readonly store: Store,
    private readonly codec: MessageCodec<T>,
    /** Checks a value before it is written; `previous` is set for updates. */
    private readonly validate: (value: T, previous: T | undefined) => void | Promise<void>,
  ) {}

  async get(path: string, label: string): Promise<{ value: T; version: Version }> {
    const { contents, version } = await this.store.get(path).catch((err: unknown) => {
      throw renamed(err, label);
    });
    return { value: this.codec.decode(contents), version };
  }

  async create(path: string, label: string, value: T, options: FenceOption = {}): Promise<Version> {
    await this.validate(value, undefined);
    const contents = this.codec.encode(value).finish();
    return this.store.create(path, contents, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, label);
    });
  }

  /** Compare-and-swap: BadVersion when the record changed since `version`, NoNode when gone. */
  async update(path: string, label: string, value: T, version: Version, options: FenceOption = {}): Promise<Version> {
    const current = await this.get(path, label);
    if (current.version !== version) {
      throw new TopoError(TopoErrorCode.BadVersion, `${label} is at version ${current.version}, not ${version}`);
    }
    await this.validate(value, current.value);
    const contents = this.codec.encode(value).finish();
    return this.store.update(path, contents, version, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, label);
    });
  }

  /**
   * Read, apply `change`, write back with compare-and-swap; on BadVersion read again and
   * re-apply, unless a version was asked for. Returns what is stored afterwards.
   */
  async updateFields(
    path: string,
    label: string,
    change: FieldUpdate<T>,
    options: VersionedWriteOptions = {},
  ): Promise<{ value: T; version: Version }> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(path, label);
      if (options.version !== undefined && current.version !== options.version) {
        throw new TopoError(TopoErrorCode.BadVersion, `${label} is at version ${current.version}, not ${options.version}`);
      }
      const previous = this.codec.decode(this.codec.encode(current.value).finish());
      if (change(current.value) === false) return current;
      await this.validate(current.value, previous);
      const contents = this.codec.encode(current.value).finish();
      try {
        const version = await this.store.update(path, contents, current.version, { fence: options.fence });
        return { value: current.value, version };
      } catch (err) {
        const retry = TopoError.is(err, TopoErrorCode.BadVersion) && options.version === undefined;
        if (!retry) throw renamed(err, label);
        if (attempt >= MAX_UPDATE_ATTEMPTS) {
          throw new TopoError(TopoErrorCode.BadVersion, `${label} kept changing: gave up after ${attempt} attempts`, { cause: err });
        }
      }
    }
  }

  async delete(path: string, label: string, options: VersionedWriteOptions = {}): Promise<void> {
    await this.store.delete(path, options.version ?? null, { fence: options.fence }).catch((err: unknown) => {
      throw renamed(err, label);
    });
  }
}

/** Restates a store error about a path as one about the record, keeping its code and cause. */
export function renamed(err: unknown, label: string): unknown {
  if (!(err instanceof TopoError)) return err;
  switch (err.code) {
    case TopoErrorCode.NoNode:
      return new TopoError(err.code, `${label} doesn't exist`, { cause: err });
    case TopoErrorCode.NodeExists:
      return new TopoError(err.code, `${label} already exists`, { cause: err });
    case TopoErrorCode.BadVersion:
      return new TopoError(err.code, `${label} changed since the version given`, { cause: err });
    default:
      return err;
  }
}
