/** watch-bench's side of its client worker processes: fork, ask, check the shared clock, stop. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { killOnExit } from './bench-stack';
import { nowNs, type WorkerReply, type WorkerRequest } from './watch-protocol';

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;
type ReplyOf<K extends WorkerReply['type']> = Extract<WorkerReply, { type: K }>;

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

class WorkerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly ready: Promise<void>;
  private gone: Error | undefined;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') return resolve();
        const waiter = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        waiter?.resolve(reply);
      });
      child.once('exit', (code, signal) => {
        this.gone = new Error(`watch worker ${index} exited (${signal ?? `code ${code}`})`);
        reject(this.gone);
        for (const waiter of this.pending.values()) waiter.reject(this.gone);
        this.pending.clear();
      });
    });
  }

  async request<K extends WorkerReply['type']>(body: RequestBody, replyType: K, timeoutMs: number): Promise<ReplyOf<K>> {
    await this.ready;
    if (this.gone) throw this.gone;
    const id = this.nextId++;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`watch worker ${this.index}: no answer to ${body.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ ...body, id } as WorkerRequest);
    });
    if (reply.type === 'failed') throw new Error(`watch worker ${this.index}: ${body.type} failed: ${reply.message}`);
    if (reply.type !== replyType) throw new Error(`watch worker ${this.index}: expected ${replyType}, got ${reply.type}`);
    return reply as ReplyOf<K>;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }
}

export interface ClockCheck {
  pings: number;
  /** Pings whose worker timestamp fell outside the parent's send..receive interval. */
  outside: number;
  /** How far outside the worst one fell, µs (0 when none did). */
  worstOutsideUs: number;
  roundTripP50Ms: number;
}

export class WatchWorkers {
  private constructor(private readonly workers: WorkerProcess[]) {}

  static async start(count: number): Promise<WatchWorkers> {
    const workers = Array.from({ length: count }, (_, index) => {
      const child = fork(join(__dirname, 'watch-worker.ts'), [], {
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        // Latency samples travel as Float64Arrays.
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      killOnExit(child);
      return new WorkerProcess(index, child);
    });
    const pool = new WatchWorkers(workers);
    try {
      await Promise.all(workers.map((w) => w.whenReady()));
    } catch (err) {
      pool.stop();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** The same request to every worker, `bodyFor(i)` giving worker i's. */
  all<K extends WorkerReply['type']>(bodyFor: (index: number) => RequestBody, replyType: K, timeoutMs: number): Promise<Array<ReplyOf<K>>> {
    return Promise.all(this.workers.map((w) => w.request(bodyFor(w.index), replyType, timeoutMs)));
  }

  /**
   * Latencies subtract a worker's receipt time from the parent's ack time, so both must read
   * one clock. Each ping checks that the worker's reading lies between the parent's send and
   * receive: it does when the clock is shared (CLOCK_MONOTONIC is, system-wide, on Linux).
   */
  async checkClock(pingsPerWorker: number): Promise<ClockCheck> {
    let outside = 0;
    let worstNs = 0;
    const roundTrips: number[] = [];
    for (const worker of this.workers) {
      for (let i = 0; i < pingsPerWorker; i++) {
        const sent = nowNs();
        const { nowNs: theirs } = await worker.request({ type: 'ping' }, 'pong', 5000);
        const received = nowNs();
        roundTrips.push((received - sent) / 1e6);
        const off = theirs < sent ? sent - theirs : theirs > received ? theirs - received : 0;
        if (off > 0) outside++;
        worstNs = Math.max(worstNs, off);
      }
    }
    roundTrips.sort((a, b) => a - b);
    return {
      pings: roundTrips.length,
      outside,
      worstOutsideUs: worstNs / 1000,
      roundTripP50Ms: roundTrips[Math.floor(roundTrips.length / 2)],
    };
  }

  stop(): void {
    for (const worker of this.workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
  }
}
