import type { Observable } from 'rxjs';
import { BoundedStage } from '../internal/boundedStage.js';
import {
  type Demand,
  isPullable,
  type Pullable,
  pull,
  type Sink,
  wantsReadAhead,
} from '../internal/demand.js';
import { type BufferConfig, bufferConfig } from '../internal/policyBuffer.js';
import { PullIterator } from '../internal/pullIterator.js';
import { checkOptions, describe, optionNames } from '../internal/validate.js';
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

const TO_ASYNC_ITERABLE_OPTIONS = optionNames<ToAsyncIterableOptions<unknown>>()({
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
});

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
 * Any other Observable pushes; it is subscribed on the first `next()`. A value that arrives
 * while a `next()` waits goes straight to it; the values nobody has asked for yet wait in a
 * buffer of `capacity` values ruled by `overflow`, the same stage and the same rule as
 * `bounded` (capacity counts values waiting for the consumer). That holds during the
 * synchronous emission at subscription too: the first `next()` is already waiting, so
 * `of(1, 2, 3, 4)` with capacity 2 hands 1 to it and buffers 2 and 3.
 *
 * ```text
 * push source:   -1-2-3-4-5-|          capacity 2; the first next() waits, then the loop is slow
 * the loop:       1                    (handed straight to the waiting next())
 * buffer:           [2] [2 3] full at 4
 *   'drop':       4, 5 reported to onOverflow; the loop reads 1 2 3, then ends
 *   'replace':    2, 3 reported;              the loop reads 1 4 5, then ends
 *   'block'/'error': unsubscribed at 4; the loop reads 1 2 3, then ChannelFullError { value: 4 }
 * ```
 *
 * **Backpressure.** A sluice source is pulled one value per `next()`: real backpressure, no
 * buffer, and `options` do not apply. A push source cannot be made to wait, so the values it
 * pushes ahead of the loop are buffered, at most `capacity` (default 1000). When the buffer is
 * full, `'drop'` discards the incoming value and `'replace'` the oldest, both reported to
 * `onOverflow` and counted in `dropped`. Under `'block'` (the default) and `'error'` a full
 * buffer ends the iteration instead of losing anything silently: the source is unsubscribed at
 * once (a synchronous firehose stops), the loop reads every value that was buffered, then
 * `next()` rejects with `ChannelFullError` carrying the value that did not fit. If a
 * synchronous firehose is what you read, prefer `fromIterable` over `from`, which is pulled and
 * needs no buffer.
 *
 * **Errors.** A source error is thrown from `next()` after the loop has read the values that
 * arrived before it; the iterator is then done. An exception thrown by `onOverflow` reaches the
 * code that emitted the value, as in `bounded`: a `Subject`'s `next()` throws it and the
 * iteration goes on; a source made by RxJS (`of`, `from`, a `pipe` of operators) turns it into
 * its error, so the loop reads what is buffered, then gets that exception. Overlapping `next()`
 * calls are answered in call order.
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
 * // 1 goes straight to the loop's first next(), 2 and 3 fill the two slots, 4 is dropped.
 * const seen: number[] = [];
 * const dropped: number[] = [];
 * const values = toAsyncIterable(of(1, 2, 3, 4), {
 *   capacity: 2,
 *   overflow: 'drop',
 *   onOverflow: (n) => dropped.push(n),
 * });
 * for await (const n of values) seen.push(n);
 * assert.deepEqual(seen, [1, 2, 3]);
 * assert.deepEqual(dropped, [4]);
 * assert.equal(values.dropped, 1);
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
 *   (err) => err instanceof ChannelFullError && err.value === 5,
 * );
 * assert.deepEqual(seen, [1, 2, 3, 4]); // 1 to the waiting next(), 2 3 4 buffered
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
  const opts = checkOptions<ToAsyncIterableOptions<T>>(WHERE, options, TO_ASYNC_ITERABLE_OPTIONS);
  const capacity = opts.capacity === undefined ? DEFAULT_CAPACITY : opts.capacity; // null refused
  const config = bufferConfig<T>(WHERE, capacity, options);
  if (isPullable<T>(source) && !wantsReadAhead(source)) {
    return new BufferedIterator<T>(source, UNBUFFERED);
  }
  const staged = new StagedSource(source, config);
  return new BufferedIterator(staged, staged);
}

interface Counters {
  readonly size: number;
  readonly dropped: number;
}

const UNBUFFERED: Counters = Object.freeze({ size: 0, dropped: 0 });

/** A push source made pullable by the `BoundedStage` each pull opens (kept for its counters). */
class StagedSource<T> implements Pullable<T>, Counters {
  private stage: BoundedStage<T> | undefined;

  constructor(
    private readonly source: Observable<T>,
    private readonly config: BufferConfig<T>,
  ) {}

  get size(): number {
    return this.stage?.size ?? 0;
  }

  get dropped(): number {
    return this.stage?.dropped ?? 0;
  }

  [pull](sink: Sink<T>): Demand<T> {
    this.stage = new BoundedStage(this.source, this.config, sink, WHERE);
    return this.stage;
  }
}

/** A `PullIterator` opened on the first `next()`, showing the counters of what it reads. */
class BufferedIterator<T> extends PullIterator<T> implements BufferedAsyncIterator<T> {
  constructor(
    source: Pullable<T>,
    private readonly counters: Counters,
  ) {
    super(source, { lazy: true });
  }

  get size(): number {
    return this.counters.size;
  }

  get dropped(): number {
    return this.counters.dropped;
  }
}
