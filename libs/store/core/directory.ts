import type { KvEngine } from '../engine';
import { noNode } from '../errors';
import { KeySpace, checkDirPath } from '../paths';
import type { DirEntry } from '../store';

/**
 * Directories are implied by the keys below them, as in Vitess's etcd2topo: a directory
 * exists while it holds at least one file, and vanishes with its last one.
 */
export class DirectoryOps {
  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
  ) {}

  async listDir(dirPath: string): Promise<DirEntry[]> {
    const dir = checkDirPath(dirPath);
    const prefix = this.keys.dirPrefix(dir);
    const { kvs } = await this.engine.range(prefix, { prefix: true, keysOnly: true });
    if (kvs.length === 0) throw noNode(dirPath);
    const entries = new Map<string, DirEntry>();
    for (const kv of kvs) {
      const rest = kv.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = slash === -1 ? rest : rest.slice(0, slash);
      const isFile = slash === -1;
      const leased = kv.lease !== 0n;
      const seen = entries.get(name);
      if (!seen) {
        entries.set(name, { name, type: isFile ? 'file' : 'directory', ephemeral: leased });
      } else {
        // A name that is both a file and a directory lists as a directory; it is ephemeral
        // only when everything under it would vanish with its leases.
        if (!isFile) seen.type = 'directory';
        seen.ephemeral = seen.ephemeral && leased;
      }
    }
    return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
