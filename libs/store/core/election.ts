import type { KvEngine } from '../engine';
import { TopoError, TopoErrorCode, interrupted } from '../errors';
import { KeySpace, checkFilePath } from '../paths';
import type { LeaderParticipation, LockDescriptor } from '../store';
import { LOCKS_DIR, LockOps, lockHolder } from './lock';

export const ELECTIONS_DIR = 'elections';

/**
 * Leader election as a lock that every participant queues for: the holder is the leader,
 * the next in line takes over when it stops or its lease expires.
 */
export class ElectionParticipation implements LeaderParticipation {
  private readonly dir: string;
  private readonly stopController = new AbortController();
  private held: LockDescriptor | undefined;

  constructor(
    private readonly engine: KvEngine,
    private readonly keys: KeySpace,
    private readonly locks: LockOps,
    private readonly ttlSeconds: number,
    name: string,
    private readonly id: string,
    private readonly onStop: (participation: ElectionParticipation) => void = () => undefined,
  ) {
    this.dir = `${ELECTIONS_DIR}/${checkFilePath(name)}`;
  }

  async waitForLeadership(): Promise<AbortSignal> {
    if (this.stopController.signal.aborted) throw interrupted(`election ${this.dir} participation stopped`);
    if (this.held) throw new TopoError(TopoErrorCode.NodeExists, `already leader of ${this.dir}`);
    this.held = await this.locks.acquire(
      this.dir,
      this.id,
      this.ttlSeconds,
      { signal: this.stopController.signal },
      false,
    );
    return AbortSignal.any([this.held.lost, this.stopController.signal]);
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.onStop(this);
    const held = this.held;
    this.held = undefined;
    if (held) await held.unlock().catch(() => undefined);
  }

  leadership(): LockDescriptor | undefined {
    return this.held;
  }

  async getCurrentLeaderId(): Promise<string> {
    const { kvs } = await this.locks.queue(this.dir);
    return kvs.length === 0 ? '' : lockHolder(kvs[0]);
  }

  async *waitForNewLeader(signal?: AbortSignal): AsyncGenerator<string> {
    const prefix = this.keys.dirPrefix(`${this.dir}/${LOCKS_DIR}`);
    const { kvs, revision } = await this.engine.range(prefix, { prefix: true });
    const queue = new Map(kvs.map((kv) => [kv.key, kv]));
    let leader = '';
    const leaderNow = (): string => {
      let first: { createRevision: bigint; id: string } | undefined;
      for (const kv of queue.values()) {
        if (!first || kv.createRevision < first.createRevision) first = { createRevision: kv.createRevision, id: lockHolder(kv) };
      }
      return first?.id ?? '';
    };
    leader = leaderNow();
    if (leader !== '') yield leader;
    for await (const response of this.engine.watch(prefix, { prefix: true, startRevision: revision + 1n, signal })) {
      for (const event of response.events) {
        if (event.type === 'put') queue.set(event.kv.key, event.kv);
        else queue.delete(event.kv.key);
      }
      const next = leaderNow();
      if (next !== leader) {
        leader = next;
        if (leader !== '') yield leader;
      }
    }
  }
}
