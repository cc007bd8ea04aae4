import type { Compare, KvEngine, KeyValue, TxnOp } from '../engine';
import { TopoError, TopoErrorCode, badVersion, noNode, nodeExists } from '../errors';
import { KeySpace, checkFilePath, checkPrefix, checkValue } from '../paths';
import type { CommitRequest, Fence, KVInfo, ListPage, ListPageOptions, Version, VersionedValue, WriteOptions } from '../store';

/** Files: create, update, get, history, list and delete, each one engine transaction. */
export class FileOps {
  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
  ) {}

  async create(filePath: string, contents: Uint8Array, options: WriteOptions = {}): Promise<Version> {
    const key = this.keys.key(checkFilePath(filePath));
    checkValue(contents);
    const result = await this.guardedWrite(
      [{ key, field: 'createRevision', equals: 0n }],
      [{ type: 'put', key, value: contents, lease: options.lease }],
      options.fence,
    );
    if (!result.ok) {
      throw result.lockLost ? lockLost(options.fence!) : nodeExists(filePath);
    }
    return result.revision;
  }

  async update(
    filePath: string,
    contents: Uint8Array,
    version: Version | null,
    options: WriteOptions = {},
  ): Promise<Version> {
    const key = this.keys.key(checkFilePath(filePath));
    checkValue(contents);
    const compare: Compare[] = version === null ? [] : [{ key, field: 'modRevision', equals: version }];
    const result = await this.guardedWrite(compare, [{ type: 'put', key, value: contents, lease: options.lease }], options.fence);
    if (!result.ok) {
      if (result.lockLost) throw lockLost(options.fence!);
      throw result.current ? badVersion(filePath) : noNode(filePath);
    }
    return result.revision;
  }

  async get(filePath: string): Promise<VersionedValue> {
    const key = this.keys.key(checkFilePath(filePath));
    const { kvs } = await this.engine.range(key);
    if (kvs.length === 0) throw noNode(filePath);
    return { contents: kvs[0].value, version: kvs[0].modRevision };
  }

  async getVersion(filePath: string, version: Version): Promise<Uint8Array> {
    const key = this.keys.key(checkFilePath(filePath));
    if (version <= 0n) throw new TopoError(TopoErrorCode.InvalidArgument, `version ${version} must be positive`);
    const { kvs } = await this.engine.range(key, { revision: version });
    if (kvs.length === 0) throw noNode(`${filePath}@${version}`);
    return kvs[0].value;
  }

  async list(prefix: string): Promise<KVInfo[]> {
    const keyPrefix = this.keys.key(checkPrefix(prefix));
    const { kvs } = await this.engine.range(keyPrefix, { prefix: true });
    return kvs.map((kv) => ({ path: this.keys.path(kv.key), contents: kv.value, version: kv.modRevision }));
  }

  async listPage(prefix: string, options: ListPageOptions): Promise<ListPage> {
    const keyPrefix = this.keys.key(checkPrefix(prefix));
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
      throw new TopoError(TopoErrorCode.InvalidArgument, `page limit ${options.limit} must be a whole number >= 1`);
    }
    const { kvs, revision, more } = await this.engine.range(keyPrefix, {
      prefix: true,
      after: options.after === undefined ? undefined : this.keys.key(checkFilePath(options.after)),
      // Every key of the file `through` names and nothing after: the key with a 0 byte appended.
      before: options.through === undefined ? undefined : `${this.keys.key(checkFilePath(options.through))}\u0000`,
      revision: options.revision,
      limit: options.limit,
    });
    return {
      items: kvs.map((kv) => ({ path: this.keys.path(kv.key), contents: kv.value, version: kv.modRevision })),
      revision: options.revision ?? revision,
      more: more ?? false,
    };
  }

  async delete(filePath: string, version: Version | null, options: WriteOptions = {}): Promise<void> {
    const key = this.keys.key(checkFilePath(filePath));
    const compare: Compare[] = version === null ? [] : [{ key, field: 'modRevision', equals: version }];
    const result = await this.guardedWrite(compare, [{ type: 'delete', key }], options.fence);
    if (result.ok && result.deleted > 0) return;
    if (!result.ok && result.lockLost) throw lockLost(options.fence!);
    if (!result.ok && result.current) throw badVersion(filePath);
    const { kvs } = await this.engine.range(this.keys.dirPrefix(filePath), { prefix: true, keysOnly: true });
    if (kvs.length > 0) throw new TopoError(TopoErrorCode.NodeNotEmpty, `directory not empty: ${filePath}`);
    throw noNode(filePath);
  }

  async commit(request: CommitRequest): Promise<Version> {
    if (request.ops.length === 0) throw new TopoError(TopoErrorCode.InvalidArgument, 'commit needs at least one write');
    const seen = new Set<string>();
    const ops: TxnOp[] = request.ops.map((op) => {
      const key = this.keys.key(checkFilePath(op.path));
      if (seen.has(key)) throw new TopoError(TopoErrorCode.InvalidArgument, `commit writes ${op.path} twice`);
      seen.add(key);
      if (op.type === 'delete') return { type: 'delete', key };
      checkValue(op.contents);
      return { type: 'put', key, value: op.contents, lease: op.lease };
    });
    const compare: Compare[] = request.expect.map(({ path, version }) => {
      const key = this.keys.key(checkFilePath(path));
      return version === 0n ? { key, field: 'createRevision', equals: 0n } : { key, field: 'modRevision', equals: version };
    });
    const lockKey = request.fence ? this.keys.key(checkFilePath(request.fence.lockPath)) : undefined;
    if (request.fence?.ended?.aborted) throw lockLost(request.fence);
    if (lockKey) compare.push({ key: lockKey, field: 'createRevision', equals: request.fence!.token });
    const failure: TxnOp[] = request.expect.map(({ path }) => ({ type: 'get', key: this.keys.key(path) }));
    if (lockKey) failure.push({ type: 'get', key: lockKey });
    const result = await this.engine.txn({ compare, success: ops, failure });
    if (result.succeeded) return result.revision;
    if (lockKey) {
      const lockKv = result.results[request.expect.length].kvs[0];
      if (!lockKv || lockKv.createRevision !== request.fence!.token) throw lockLost(request.fence!);
    }
    const moved = request.expect.find(({ version }, i) => (result.results[i].kvs[0]?.modRevision ?? 0n) !== version);
    throw badVersion(moved?.path ?? request.expect[0]?.path ?? '');
  }

  /**
   * Runs `ops` when every compare holds and the fence, if any, is still held, all in one
   * transaction. On refusal, reports which guard failed from reads taken in that same
   * transaction, so the answer cannot race with another writer.
   */
  private async guardedWrite(
    compare: Compare[],
    ops: TxnOp[],
    fence: Fence | undefined,
  ): Promise<
    { ok: true; revision: bigint; deleted: number } | { ok: false; lockLost: boolean; current: KeyValue | undefined }
  > {
    const target = ops[0].key;
    const lockKey = fence ? this.keys.key(checkFilePath(fence.lockPath)) : undefined;
    if (fence?.ended?.aborted) return { ok: false, lockLost: true, current: undefined };
    const fenceCompare: Compare[] = lockKey ? [{ key: lockKey, field: 'createRevision', equals: fence!.token }] : [];
    const failure: TxnOp[] = [{ type: 'get', key: target }];
    if (lockKey) failure.push({ type: 'get', key: lockKey });
    const result = await this.engine.txn({ compare: [...compare, ...fenceCompare], success: ops, failure });
    if (result.succeeded) return { ok: true, revision: result.revision, deleted: result.results[0].kvs.length };
    const current = result.results[0].kvs[0];
    const lockKv = lockKey ? result.results[1].kvs[0] : undefined;
    const lost = fence !== undefined && (!lockKv || lockKv.createRevision !== fence.token);
    return { ok: false, lockLost: lost, current };
  }
}

export function lockLost(fence: Fence): TopoError {
  return new TopoError(TopoErrorCode.LockLost, `lock ${fence.lockPath} (token ${fence.token}) is no longer held`);
}
