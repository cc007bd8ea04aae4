import type { KvEngine } from '../engine';
import { noNode } from '../errors';
import { KeySpace, checkDirPath, checkFilePath } from '../paths';
import type {
  FileWatch,
  RecursiveBatch,
  RecursiveWatch,
  RecursiveWatchOptions,
  VersionedValue,
  WatchOptions,
} from '../store';

/**
 * Watches read the current state and then follow the engine's revision-ordered watch from
 * the very next revision, so nothing can fall between the snapshot and the first change.
 * The engine watch opens when the caller starts iterating.
 */
export class WatchOps {
  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
  ) {}

  async watch(filePath: string, options: WatchOptions = {}): Promise<FileWatch> {
    const key = this.keys.key(checkFilePath(filePath));
    const { kvs, revision } = await this.engine.range(key);
    if (kvs.length === 0) throw noNode(filePath);
    return {
      current: { contents: kvs[0].value, version: kvs[0].modRevision },
      changes: this.fileChanges(filePath, key, revision + 1n, options.signal),
    };
  }

  async watchRecursive(dirPath: string, options: RecursiveWatchOptions = {}): Promise<RecursiveWatch> {
    const prefix = this.keys.dirPrefix(checkDirPath(dirPath));
    if (options.fromRevision !== undefined) {
      return {
        current: [],
        revision: options.fromRevision - 1n,
        changes: this.recursiveChanges(prefix, options.fromRevision, options),
      };
    }
    const { kvs, revision } = await this.engine.range(prefix, { prefix: true });
    return {
      current: kvs.map((kv) => ({ path: this.keys.path(kv.key), contents: kv.value, version: kv.modRevision })),
      revision,
      changes: this.recursiveChanges(prefix, revision + 1n, options),
    };
  }

  private async *fileChanges(
    filePath: string,
    key: string,
    startRevision: bigint,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<VersionedValue> {
    for await (const response of this.engine.watch(key, { startRevision, signal })) {
      for (const event of response.events) {
        if (event.type === 'delete') throw noNode(filePath);
        yield { contents: event.kv.value, version: event.kv.modRevision };
      }
    }
  }

  private async *recursiveChanges(
    prefix: string,
    startRevision: bigint,
    options: RecursiveWatchOptions,
  ): AsyncGenerator<RecursiveBatch> {
    const watch = this.engine.watch(prefix, {
      prefix: true,
      startRevision,
      signal: options.signal,
      progressNotify: options.progressNotify,
    });
    for await (const response of watch) {
      yield {
        revision: response.revision,
        changes: response.events.map((event) =>
          event.type === 'put'
            ? { type: 'put', path: this.keys.path(event.kv.key), contents: event.kv.value, version: event.kv.modRevision }
            : { type: 'delete', path: this.keys.path(event.kv.key), version: event.kv.modRevision },
        ),
      };
    }
  }
}
