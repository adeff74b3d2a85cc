import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { BatchStage } from '../internal/flow/batchStage.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkOptions,
  checkScheduler,
  optionNames,
} from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/** Options of `batch`. */
export interface BatchOptions<T> extends OverflowOptions<T> {
  /** The most messages in one batch: a whole number >= 1. */
  readonly size: number;
  /**
   * How long a partial batch may wait for more, in milliseconds from its first message;
   * `Infinity` waits for `size` or the end of the source.
   */
  readonly time: number;
  /** The most messages a push source may get ahead of the consumer (buffered under `overflow`). @default 1000 */
  readonly capacity?: number;
  /** The timers. @default a monotonic scheduler (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
}

/** @deprecated Use `BatchOptions`. */
export type BatchConfig<T> = BatchOptions<T>;

const WHERE = 'batch';
const BATCH_OPTIONS = optionNames<BatchOptions<unknown>>()({
  size: 1,
  time: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  scheduler: 1,
});

/**
 * Groups messages into arrays of up to `size`. A batch leaves when it is full, or `time` ms
 * after its first message, whichever comes first; what remains leaves when the source
 * completes. Never an empty batch: with no message, no timer runs and nothing is emitted.
 *
 * ```text
 * size 3, time 4
 * source:  abcd-----e|
 * output:  --x----y--(z|)    x = [a, b, c] (full), y = [d] (4 after d), z = [e] (completion)
 * ```
 *
 * Unlike `bufferTime(time, null, size)`, the timer belongs to the batch (it starts at the
 * batch's first message, so a quiet source emits nothing), and the output respects demand.
 *
 * **Backpressure.** Demand-aware in both directions: it asks its upstream only for the messages
 * of the batch it is assembling, and once a batch is sealed and the consumer has not asked for
 * it, nothing more until the consumer does. So it is at most one batch ahead of its consumer,
 * and `source.pipe(batch(…), workerPool(…))` holds a demand-aware source back at the pool's pace.
 * A batch sealed while its consumer is busy waits for it: the consumer's pace wins over `time`.
 * A push source cannot wait: what it sends ahead is buffered up to `capacity` under `overflow`,
 * exactly as `bounded` (`'drop'`/`'replace'` report each discarded message to `onOverflow`;
 * `'block'` and `'error'` fail with `ChannelFullError`). A plain subscriber takes everything.
 *
 * **Errors.** A source error arrives after the batches of the messages before it (the partial
 * one included).
 *
 * **Cancellation.** Unsubscribing cancels the upstream and the timer; the batch being assembled
 * is discarded.
 *
 * @param options `size`, `time`, and `capacity`, `overflow`, `onOverflow`, `scheduler`.
 * @returns An operator emitting non-empty arrays of at most `size` messages, demand-aware.
 * @throws TypeError or RangeError for a bad option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { TestScheduler } from 'rxjs/testing';
 * import { batch } from 'sluice';
 *
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(
 *   ({ cold, expectObservable }) => {
 *     const batches = cold('abcd-----e|').pipe(batch({ size: 3, time: 4 }));
 *     expectObservable(batches).toBe('--x----y--(z|)', {
 *       x: ['a', 'b', 'c'],
 *       y: ['d'],
 *       z: ['e'],
 *     });
 *   },
 * );
 * ```
 */
export function batch<T>(options: BatchOptions<T>): OperatorFunction<T, T[]> {
  const opts = checkOptions<BatchOptions<T>>(WHERE, options, BATCH_OPTIONS);
  if (options === undefined) {
    throw new TypeError(`${WHERE}: options must be an object with size and time, got undefined`);
  }
  const size = checkCapacity(WHERE, 'size', opts.size, false);
  const time = checkDuration(WHERE, 'time', opts.time, true);
  const buffer = bufferConfig<T>(WHERE, opts.capacity === undefined ? 1000 : opts.capacity, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const scheduler = checkScheduler<SchedulerLike>(WHERE, opts.scheduler) ?? monotonicScheduler;
  const plan = { where: WHERE, size, time, buffer, scheduler };
  return (source) => new PullObservable<T[]>((sink) => new BatchStage(source, plan, sink));
}
