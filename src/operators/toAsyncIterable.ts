import { Observable, type Subscriber } from 'rxjs';
import { ChannelFullError } from '../errors.js';
import { isPullable, type Pullable } from '../internal/demand.js';
import { type BufferConfig, bufferConfig, PolicyBuffer } from '../internal/policyBuffer.js';
import { PullIterator } from '../internal/pullIterator.js';
import { Ring } from '../internal/ring.js';
import { checkOptions, describe } from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

const WHERE = 'toAsyncIterable';
const DEFAULT_CAPACITY = 1000;

/** Options of `toAsyncIterable`. They apply only to a push source; a sluice source needs no buffer. */
export interface ToAsyncIterableOptions<T> extends OverflowOptions<T> {
  /**
   * The most values held for the consumer when the source pushes faster than the loop reads:
   * a whole number >= 1, or `Infinity` for an explicitly unbounded buffer.
   * @default 1000
   */
  readonly capacity?: number;
}

/** The iterator `toAsyncIterable` returns: an `AsyncIterableIterator<T>` with its buffer's counters. */
export interface BufferedAsyncIterator<T> extends AsyncIterableIterator<T> {
  /** Values buffered now, waiting for `next()` (always 0 for a sluice source). */
  readonly size: number;
  /** Values discarded by the `'drop'` or `'replace'` policy (each also reached `onOverflow`). */
  readonly dropped: number;
  /** The next value; `done` once the source completed (or the iterator was returned). */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stops reading: unsubscribes, ends pending `next()` calls, discards what is buffered. */
  return(): Promise<IteratorResult<T, undefined>>;
}

/**
 * Reads any Observable with `for await`, through a bounded buffer.
 *
 * A sluice source (a channel receiver, `fromIterable`, `bounded`) is pulled: each `next()`
 * requests exactly one value, so nothing is buffered and the source runs at the loop's pace.
 * Any other Observable pushes; it is subscribed on the first `next()`, and the values the loop
 * has not asked for yet wait in a buffer of `capacity` values ruled by `overflow`.
 *
 * ```text
 * push source:   -1-2-3-4-5-|          capacity 2, loop reads slowly
 * buffer:         [1] [1 2] full at 3
 *   'drop':       3, 4, 5 reported to onOverflow; the loop reads 1 2, then ends
 *   'replace':    1, 2, 3 reported;               the loop reads 4 5, then ends
 *   'block'/'error': unsubscribed at 3; the loop reads 1 2, then ChannelFullError { value: 3 }
 * ```
 *
 * **Backpressure.** A sluice source is pulled one value per `next()`: real backpressure, no
 * buffer, and `options` do not apply. A push source cannot be made to wait, so its values are
 * buffered, at most `capacity` (default 1000). When the buffer is full, `'drop'` discards the
 * incoming value and `'replace'` the oldest, both reported to `onOverflow` and counted in
 * `dropped`. Under `'block'` (the default) and `'error'` a full buffer ends the iteration
 * instead of losing anything silently: the source is unsubscribed, the loop reads every value
 * that was buffered, then `next()` rejects with `ChannelFullError` carrying the value that did
 * not fit. If a synchronous firehose is what you read, prefer `fromIterable` over `from`, which
 * is pulled and needs no buffer.
 *
 * **Errors.** A source error is thrown from `next()` after the loop has read the values that
 * arrived before it; the iterator is then done. An exception from `onOverflow` ends the
 * iteration the same way: the source is unsubscribed and the loop reads what is buffered, then
 * gets that exception. Overlapping `next()` calls are answered in call order.
 *
 * **Cancellation.** `return()` (a `break` or `throw` out of `for await`) unsubscribes from the
 * source (for a sluice source: cancels the pull, so `fromIterable` closes its iterator and a
 * channel keeps its messages for the next consumer), resolves every pending `next()` with
 * `done`, and discards the values still buffered. Creating the iterator subscribes to nothing;
 * the first `next()` does.
 *
 * **Differences from other conversions.** RxJS 8's `Observable[Symbol.asyncIterator]` and
 * `rxjs-for-await`'s `eachValueFrom` buffer a push source without bound; here the buffer is
 * bounded and a full one is never silent.
 *
 * @param source The Observable to read.
 * @param options `capacity` (default 1000), `overflow` (default `'block'`), `onOverflow`.
 * @returns An async iterator (and iterable) over the source's values, with `size` and `dropped`.
 * @throws TypeError when `source` is not an Observable; TypeError or RangeError for a bad option.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { fromIterable, toAsyncIterable } from 'sluice';
 *
 * // A sluice source is pulled one value per iteration: the generator runs no further.
 * let produced = 0;
 * function* naturals() {
 *   for (let n = 1; ; n++) {
 *     produced++;
 *     yield n;
 *   }
 * }
 * for await (const n of toAsyncIterable(fromIterable({ [Symbol.iterator]: naturals }))) {
 *   if (n === 3) break;
 * }
 * assert.equal(produced, 3);
 * ```
 *
 * ```ts
 * import assert from 'node:assert/strict';
 * import { of } from 'rxjs';
 * import { toAsyncIterable } from 'sluice';
 *
 * // A push source fills the buffer; what does not fit is reported, never lost silently.
 * const seen: number[] = [];
 * const dropped: number[] = [];
 * const values = toAsyncIterable(of(1, 2, 3, 4), {
 *   capacity: 2,
 *   overflow: 'drop',
 *   onOverflow: (n) => dropped.push(n),
 * });
 * for await (const n of values) seen.push(n);
 * assert.deepEqual(seen, [1, 2]);
 * assert.deepEqual(dropped, [3, 4]);
 * assert.equal(values.dropped, 2);
 * ```
 *
 * ```ts
 * import assert from 'node:assert/strict';
 * import { range } from 'rxjs';
 * import { ChannelFullError, toAsyncIterable } from 'sluice';
 *
 * // Under the default 'block' policy a push source that overflows ends the loop loudly,
 * // after the buffered values, with the value that did not fit.
 * const seen: number[] = [];
 * await assert.rejects(
 *   async () => {
 *     for await (const n of toAsyncIterable(range(1, 10), { capacity: 3 })) seen.push(n);
 *   },
 *   (err) => err instanceof ChannelFullError && err.value === 4,
 * );
 * assert.deepEqual(seen, [1, 2, 3]);
 * ```
 */
export function toAsyncIterable<T>(
  source: Observable<T>,
  options?: ToAsyncIterableOptions<T>,
): BufferedAsyncIterator<T> {
  if (
    source === null ||
    typeof source !== 'object' ||
    typeof (source as { subscribe?: unknown }).subscribe !== 'function'
  ) {
    throw new TypeError(`${WHERE}: source must be an Observable, got ${describe(source)}`);
  }
  const opts = checkOptions<ToAsyncIterableOptions<T>>(WHERE, options);
  const config = bufferConfig<T>(WHERE, opts.capacity ?? DEFAULT_CAPACITY, options);
  if (isPullable<T>(source)) return new LazyPullIterator(source);
  return new PushIterator(source, config);
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

interface Pending<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(err: unknown): void;
}

/** A `PullIterator` opened on the first `next()`, so an unused iterator holds no consumer slot. */
class LazyPullIterator<T> implements BufferedAsyncIterator<T> {
  readonly size = 0;
  readonly dropped = 0;
  private inner: PullIterator<T> | undefined;
  private finished = false;

  constructor(private readonly source: Pullable<T>) {}

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.finished) return Promise.resolve(DONE);
    this.inner ??= new PullIterator(this.source);
    return this.inner.next();
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.finished = true;
    return this.inner ? this.inner.return() : Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * `for await` over a push source: values wait in a `PolicyBuffer` until a `next()` takes
 * them; a `next()` that finds the buffer empty waits in a first-in first-out line.
 * Invariant: a `next()` waits only while the buffer is empty.
 */
class PushIterator<T> implements BufferedAsyncIterator<T> {
  private readonly buffer: PolicyBuffer<T>;
  private readonly waiters = new Ring<Pending<T>>(4);
  private subscriber: Subscriber<T> | undefined;
  private started = false;
  /** How the source ended (or was stopped), delivered once the buffer is read. */
  private ending: { failed: false } | { failed: true; error: unknown } | undefined;
  /** Nothing more will be delivered: returned, or the ending was delivered. */
  private finished = false;

  constructor(
    private readonly source: Observable<T>,
    config: BufferConfig<T>,
  ) {
    this.buffer = new PolicyBuffer(config);
  }

  get size(): number {
    return this.buffer.size;
  }

  get dropped(): number {
    return this.buffer.dropped;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (!this.started && !this.finished) this.start();
    if (this.buffer.size > 0) return Promise.resolve({ done: false, value: this.buffer.shift() });
    if (this.finished) return Promise.resolve(DONE);
    if (this.ending) {
      const ending = this.ending;
      this.finish();
      return ending.failed ? Promise.reject(ending.error) : Promise.resolve(DONE);
    }
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.finished) {
      this.subscriber?.unsubscribe();
      this.buffer.drain(); // the consumer left: what it did not read is released
      this.finish();
      this.settleWaiters();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private start(): void {
    this.started = true;
    // Hand the source a real Subscriber we hold before it starts emitting, so an overflow
    // during a synchronous emission can unsubscribe it at once (a firehose then stops).
    new Observable<T>((subscriber) => {
      this.subscriber = subscriber;
      this.source.subscribe(subscriber);
    }).subscribe({
      next: (value) => this.push(value),
      error: (error: unknown) => this.stop({ failed: true, error }),
      complete: () => this.stop({ failed: false }),
    });
  }

  private push(value: T): void {
    if (this.ending || this.finished) return;
    if (this.waiters.size > 0) {
      this.waiters.shift().resolve({ done: false, value });
      return;
    }
    let offer: ReturnType<PolicyBuffer<T>['offer']>;
    try {
      offer = this.buffer.offer(value);
    } catch (error) {
      // onOverflow threw; the buffer is consistent again. End the iteration with its error.
      this.stop({ failed: true, error });
      return;
    }
    if (offer === 'full') {
      const error = new ChannelFullError(
        `${WHERE}: buffer is full (capacity ${this.buffer.capacity}) and a push source cannot ` +
          `wait, so it was unsubscribed; use a larger capacity, the 'drop' or 'replace' policy, ` +
          `or a source pulled on demand (fromIterable, a channel receiver)`,
        value,
      );
      this.stop({ failed: true, error });
    }
  }

  /** The source ended or must stop: unsubscribe and, if nothing is buffered, tell the waiters. */
  private stop(ending: NonNullable<PushIterator<T>['ending']>): void {
    if (this.ending || this.finished) return;
    this.ending = ending;
    this.subscriber?.unsubscribe();
    if (this.waiters.size > 0) {
      // Waiters exist only while the buffer is empty: the first gets the ending.
      this.finish();
      const first = this.waiters.shift();
      if (ending.failed) first.reject(ending.error);
      else first.resolve(DONE);
      this.settleWaiters();
    }
  }

  private finish(): void {
    this.finished = true;
    this.ending = undefined;
    this.subscriber = undefined;
  }

  private settleWaiters(): void {
    while (this.waiters.size > 0) this.waiters.shift().resolve(DONE);
  }
}
