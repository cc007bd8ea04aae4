/** Jittered exponential backoff: each failure doubles the ceiling; a success resets it. */
export class Backoff {
  private ceiling = 0;

  constructor(
    private readonly minMs = 100,
    private readonly maxMs = 5000,
  ) {}

  /** The next delay: uniformly between half the ceiling and the ceiling. */
  next(): number {
    this.ceiling = Math.min(this.maxMs, Math.max(this.minMs, this.ceiling * 2));
    return this.ceiling / 2 + Math.random() * (this.ceiling / 2);
  }

  reset(): void {
    this.ceiling = 0;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
