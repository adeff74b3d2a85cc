import type { Observable, OperatorFunction } from 'rxjs';
import { BoundedStage } from '../internal/boundedStage.js';
import { PullObservable } from '../internal/demand.js';
import { bufferConfig, OVERFLOW_OPTIONS } from '../internal/policyBuffer.js';
import type { OverflowOptions } from '../overflow.js';

/**
 * A bounded buffer with an overflow policy between a producer and a slower consumer. Its output
 * is demand-aware: sluice consumers (`workerPool`, `for await`, `toAsyncIterable`) take from it
 * only as fast as they work, and the buffer absorbs the difference up to `capacity`.
 *
 * ```text
 * source:    -a-b-c-d-e-|          (a push source, capacity 2, consumer reads slowly)
 * buffer:     [a][a b][b c]...
 * 'drop':     c, d, e discarded while full, each reported to onOverflow
 * 'replace':  the oldest discarded to make room (keeps the newest 2)
 * 'block':    the output fails with ChannelFullError { value: c } after a and b are read
 * 'error':    same as 'block' for a push source
 * ```
 *
 * **Backpressure.** Never more than `capacity` messages are held. What happens when the buffer
 * is full depends on the upstream:
 * - a demand-aware upstream (a sluice channel receiver, `fromIterable`, another `bounded`) is
 *   pulled only to keep the buffer full, so its producer really waits and no policy ever
 *   discards anything;
 * - a plain RxJS Observable pushes and cannot be paused. `'drop'` and `'replace'` discard and
 *   report each message to `onOverflow`; under `'block'` (the default) and `'error'` the first
 *   message that does not fit stops the upstream and fails the output with `ChannelFullError`
 *   carrying that message, once the consumer has read everything buffered before it. A push
 *   source therefore never grows memory silently and never loses a message silently: choose a
 *   discarding policy, raise `capacity`, or feed it from a demand-aware source.
 *
 * A plain RxJS subscriber downstream has unlimited demand: every message passes straight through
 * and the buffer stays empty.
 *
 * **Errors.** An upstream error is delivered after the buffered messages. An exception thrown by
 * `onOverflow` reaches the code that emitted the message.
 *
 * **Cancellation.** Unsubscribing unsubscribes (or cancels the pull on) the upstream and discards
 * the buffered messages.
 *
 * @param capacity The most messages held at once: a whole number >= 1, or `Infinity`.
 * @param options `overflow` (default `'block'`) and `onOverflow`.
 * @returns An operator whose output is a demand-aware Observable.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { Subject } from 'rxjs';
 * import { bounded, toAsyncIterable } from 'sluice';
 *
 * const ticks = new Subject<number>();
 * const dropped: number[] = [];
 * const latest = ticks.pipe(bounded(2, { overflow: 'replace', onOverflow: (n) => dropped.push(n) }));
 * const reader = toAsyncIterable(latest);
 * const first = reader.next(); // subscribes and waits for one message
 * for (let i = 1; i <= 5; i++) ticks.next(i);
 * ticks.complete();
 * assert.equal((await first).value, 1); // delivered straight to the waiting reader
 * const rest: number[] = [];
 * for await (const n of reader) rest.push(n);
 * assert.deepEqual(rest, [4, 5]); // only the newest two were kept
 * assert.deepEqual(dropped, [2, 3]); // and nothing vanished unreported
 * ```
 */
export function bounded<T>(capacity: number, options?: OverflowOptions<T>): OperatorFunction<T, T> {
  const config = bufferConfig<T>('bounded', capacity, options, OVERFLOW_OPTIONS);
  return (source: Observable<T>) =>
    new PullObservable<T>((sink) => new BoundedStage(source, config, sink, 'bounded'));
}
