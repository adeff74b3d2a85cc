/**
 * A minimal hand-written bounded channel, used by the channel benchmarks as a reference for
 * what a Promise hand-off costs with nothing else around it: no overflow policies, no
 * Observable side, no cancellation, no counters, one producer and one consumer.
 *
 * `send` resolves at once while there is room and otherwise waits for the consumer to take a
 * message; `recv` resolves at once while something is buffered and otherwise waits.
 * @module
 */

const READY: Promise<void> = Promise.resolve();
const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

export class MinimalChannel<T> implements AsyncIterable<T> {
  private readonly slots: Array<T | undefined>;
  private readonly mask: number;
  private head = 0;
  private count = 0;
  private closed = false;
  /** The consumer waiting for a message (one consumer, so at most one). */
  private taker: { next: (value: T) => void; done: () => void } | undefined;
  /** The producer waiting for room, with its message (one producer, so at most one). */
  private giver: { value: T; resolve: () => void } | undefined;

  constructor(readonly capacity: number) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.slots = new Array<T | undefined>(size);
    this.mask = size - 1;
  }

  send(value: T): Promise<void> {
    const taker = this.taker;
    if (taker !== undefined) {
      this.taker = undefined;
      taker.next(value);
      return READY;
    }
    if (this.count < this.capacity) {
      this.slots[(this.head + this.count) & this.mask] = value;
      this.count++;
      return READY;
    }
    return new Promise<void>((resolve) => {
      this.giver = { value, resolve };
    });
  }

  close(): void {
    this.closed = true;
    if (this.count === 0 && this.taker !== undefined) {
      const taker = this.taker;
      this.taker = undefined;
      taker.done();
    }
  }

  /** The next message, or `done` once closed and drained. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.count > 0) return Promise.resolve({ done: false, value: this.take() });
    if (this.closed) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.taker = { next: (value) => resolve({ done: false, value }), done: () => resolve(DONE) };
    });
  }

  /** The next message; rejects once closed and drained. */
  recv(): Promise<T> {
    if (this.count > 0) return Promise.resolve(this.take());
    if (this.closed) return Promise.reject(new Error('channel closed'));
    return new Promise((resolve, reject) => {
      this.taker = { next: resolve, done: () => reject(new Error('channel closed')) };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: () => this.next() };
  }

  private take(): T {
    const value = this.slots[this.head] as T;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    const giver = this.giver;
    if (giver !== undefined) {
      this.giver = undefined;
      this.slots[(this.head + this.count) & this.mask] = giver.value;
      this.count++;
      giver.resolve();
    }
    return value;
  }
}
