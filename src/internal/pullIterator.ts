import { type Demand, type Pullable, pull } from './demand.js';
import { Ring } from './ring.js';

interface Pending<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(err: unknown): void;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/**
 * `for await` over a pull source: each `next()` requests exactly one value, so the consumer
 * never holds more than the calls it has made. `return()` (a `break` out of the loop) cancels
 * the pull subscription. Overlapping `next()` calls are answered in call order.
 *
 * The pull is opened at construction (a channel receiver's loop is a consumer from
 * `[Symbol.asyncIterator]()` on, e.g. a broadcast cursor starts there), or with `lazy` on the
 * first `next()`, so an iterator that is never read holds nothing; `return()` before that
 * opens nothing.
 */
export class PullIterator<T> implements AsyncIterableIterator<T> {
  private demand: Demand | undefined;
  private readonly pending = new Ring<Pending<T>>(4);
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly source: Pullable<T>,
    options?: { readonly lazy?: boolean },
  ) {
    if (options?.lazy !== true) this.open();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.demand === undefined && !this.ended) this.open();
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve(DONE);
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.demand?.request(1);
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.ended) {
      this.ended = true;
      this.demand?.cancel();
      this.settleAll();
    }
    this.failure = undefined;
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private open(): void {
    this.demand = this.source[pull]({
      next: (value) => {
        const waiter = this.pending.size > 0 ? this.pending.shift() : undefined;
        waiter?.resolve({ done: false, value });
      },
      error: (error) => {
        this.ended = true;
        if (this.pending.size > 0) {
          this.pending.shift().reject(error);
          this.settleAll();
        } else {
          this.failure = { error };
        }
      },
      complete: () => {
        this.ended = true;
        this.settleAll();
      },
    });
  }

  private settleAll(): void {
    while (this.pending.size > 0) this.pending.shift().resolve(DONE);
  }
}
