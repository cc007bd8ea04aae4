/**
 * A one-consumer queue between stream callbacks and an async generator. It reports its
 * length so the producer can pause its source instead of buffering without bound.
 */
export class Channel<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | undefined;

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(item);
    } else {
      this.items.push(item);
    }
  }

  shift(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
