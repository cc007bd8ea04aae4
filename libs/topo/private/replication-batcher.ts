import { ShardReplication, type TabletAlias } from '../../proto';
import { TopoError, TopoErrorCode, type CommitOp, type CommitRequest, type Store, type Version, type VersionedValue } from '../../store';
import { withReplicationNode } from '../shard-replication';
import { tryCommit } from './tablet-commit';

/**
 * Registrations per transaction: each brings two puts and two compares, and etcd refuses a
 * transaction of more than 128 of either (its default --max-txn-ops).
 */
const MAX_BATCH = 48;

interface Member {
  alias: TabletAlias;
  expect: CommitRequest['expect'];
  ops: CommitOp[];
  resolve(revision: Version | undefined): void;
  reject(error: unknown): void;
}

interface Known {
  value?: VersionedValue;
}

/**
 * Registrations joining one shard's replication graph, folded into one transaction: while
 * a commit for a graph is in flight, the registrations that arrive for it wait, and then go
 * together, each with its own record, liveness and compares, and the graph written once with
 * every new node. So many tablets of one shard registering at once neither race each other
 * on the graph's version nor run out of retries. A refused batch (some file moved) answers
 * every member `undefined`: each re-reads and submits again.
 */
export class ReplicationBatcher {
  private readonly queues = new Map<string, Member[]>();
  private readonly running = new Set<string>();
  /** What this process last wrote to a graph: fresher than any cache right after the write. */
  private readonly written = new Map<string, VersionedValue>();
  /** Graphs whose last commit was refused: read from the store next, not the cache. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly store: Store,
    /** The graph as a cache knows it, when it does (undefined: ask the store). */
    private readonly cached: (path: string) => Known | undefined,
  ) {}

  commit(graphPath: string, alias: TabletAlias, expect: CommitRequest['expect'], ops: CommitOp[]): Promise<Version | undefined> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(graphPath);
      if (!queue) this.queues.set(graphPath, (queue = []));
      queue.push({ alias, expect, ops, resolve, reject });
      if (!this.running.has(graphPath)) {
        this.running.add(graphPath);
        // Registrations that arrive in this same turn go in the first batch.
        setImmediate(() => void this.drain(graphPath));
      }
    });
  }

  private async drain(graphPath: string): Promise<void> {
    const queue = this.queues.get(graphPath)!;
    try {
      while (queue.length > 0) {
        const members = queue.splice(0, MAX_BATCH);
        try {
          const graph = await this.graph(graphPath);
          const before = graph ? ShardReplication.decode(graph.contents) : ShardReplication.fromPartial({});
          const after = members.reduce((nodes, member) => withReplicationNode(nodes, member.alias), before);
          const contents = ShardReplication.encode(after).finish();
          const request: CommitRequest = {
            expect: [...members.flatMap((m) => m.expect), { path: graphPath, version: graph?.version ?? 0n }],
            ops: [...members.flatMap((m) => m.ops), { type: 'put', path: graphPath, contents }],
          };
          const revision = await tryCommit(this.store, request);
          if (revision === undefined) {
            this.written.delete(graphPath);
            this.refused.add(graphPath);
          } else {
            this.written.set(graphPath, { contents, version: revision });
          }
          for (const member of members) member.resolve(revision);
        } catch (err) {
          this.written.delete(graphPath);
          this.refused.add(graphPath);
          for (const member of members) member.reject(err);
        }
      }
    } finally {
      this.running.delete(graphPath);
      this.queues.delete(graphPath);
    }
  }

  /** The graph's freshest known state: our own last write, the cache when it caught up, else the store. */
  private async graph(path: string): Promise<VersionedValue | undefined> {
    const own = this.written.get(path);
    const cached = this.refused.delete(path) ? undefined : this.cached(path);
    if (own && (!cached || (cached.value?.version ?? 0n) <= own.version)) return own;
    if (cached) return cached.value;
    return this.store.get(path).catch((err: unknown) => {
      if (TopoError.is(err, TopoErrorCode.NoNode)) return undefined;
      throw err;
    });
  }
}
