import {
  from,
  type MonoTypeOperatorFunction,
  type Observable,
  type ObservableInput,
  type Subscription,
} from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { SharedStage, type SharedStageConfig } from '../internal/sharedStage.js';
import { checkCapacity, checkOptions, describe, optionNames } from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/**
 * When a `shareBounded` connection is dropped so the next subscriber subscribes the source
 * again, as RxJS's `share`: `true` at once, `false` never, or when the Observable returned by
 * the function first emits (a subscriber arriving before that keeps the connection).
 */
export type ShareBoundedReset<A extends unknown[]> =
  | boolean
  | ((...args: A) => ObservableInput<unknown>);

/** Options of {@link shareBounded}. */
export interface ShareBoundedOptions<T> extends OverflowOptions<T> {
  /**
   * After the source errors, when the next subscriber subscribes it again; until then a new
   * subscriber gets the same error at once. As RxJS's `share`. @default true
   */
  readonly resetOnError?: ShareBoundedReset<[error: unknown]>;
  /**
   * After the source completes, when the next subscriber subscribes it again; until then a new
   * subscriber completes at once. As RxJS's `share`. @default true
   */
  readonly resetOnComplete?: ShareBoundedReset<[]>;
  /**
   * When the last subscriber leaves before the end, when the source is unsubscribed so the next
   * subscriber subscribes it again. Until then the source stays subscribed, and messages that
   * arrive while nobody subscribes are not kept. As RxJS's `share`. @default true
   */
  readonly resetOnRefCountZero?: ShareBoundedReset<[]>;
}

/** @deprecated Use `ShareBoundedOptions`. */
export type ShareBoundedConfig<T> = ShareBoundedOptions<T>;

const SHARE_BOUNDED_OPTIONS = optionNames<ShareBoundedOptions<unknown>>()({
  overflow: 1,
  onOverflow: 1,
  resetOnError: 1,
  resetOnComplete: 1,
  resetOnRefCountZero: 1,
});

/**
 * Multicasts the source to every subscriber, like RxJS's `share()`, but keeps backpressure:
 * a demand-aware source (a sluice channel receiver, `fromIterable`, `bounded`) is pulled only
 * as fast as the slowest current subscriber reads, with at most `capacity` messages held
 * between the fastest and the slowest.
 *
 * ```text
 * source (pulled):  a b c d e f ...       capacity 2
 * fast subscriber:  a b c . . d e . . f   waits for the slow one when 2 ahead
 * slow subscriber:  a . b . c . d . e . f
 * late subscriber:            d e . . f   starts at the next message
 * ```
 *
 * Subscribers are demand-aware consumers (`workerPool`, `for await`, `toAsyncIterable`, another
 * sluice stage), each reading at its own pace, or plain RxJS subscribers, which read
 * everything at once and never hold anyone up. Its output is itself a demand-aware source.
 *
 * **When to pick it over `share({ connector: () => broadcastSubject(n) })`.** Both hold at
 * most `n` messages whatever the number of subscribers. A `broadcastSubject` never slows the
 * source: a demand-aware reader of the Subject itself that falls behind skips ahead and is told
 * how many it missed (behind `share()`, subscribers are RxJS's own and take every message at
 * once). `shareBounded` never skips anything: the slowest subscriber slows the source down.
 * Choose `shareBounded` when every subscriber must see every message (audit, persistence, two
 * stages of one job), a `broadcastSubject` when fresh data matters more than completeness
 * (status, prices, progress).
 *
 * **Backpressure.** At most `capacity` messages are held, whatever the number of
 * subscribers. A demand-aware source is asked only for what fits behind the slowest current
 * subscriber, so its producer really waits (`await tx.send()` on a `'block'` channel) and no
 * policy ever discards. A plain Observable pushes and cannot be paused: when the slowest
 * subscriber is `capacity` messages behind, `overflow` decides: `'drop'` discards the new
 * message (for everyone), `'replace'` the oldest held (subscribers that had not read it skip
 * it), both reported to `onOverflow`; `'block'` (the default) and `'error'` unsubscribe the
 * source and fail every subscriber with `ChannelFullError`, carrying the message, after each
 * has read what was held for it. A subscriber that leaves stops counting at once: the
 * messages only it still needed are released and the source is asked for more, so leaving
 * never stalls the others. Demand crosses synchronous RxJS operators: in
 * `rx.pipe(workerPool(w), map(f), shareBounded(n))` the pool is paced by the room the share
 * has left; operators that hold values in time (`delay`, `observeOn`) cannot carry it, and the
 * policy above then applies.
 *
 * **Errors.** A source error reaches each subscriber after the messages held for it. An
 * exception thrown by `onOverflow` reaches the code that emitted the message.
 *
 * **Cancellation.** As `share()`: the source is subscribed with the first subscriber's first
 * request, and unsubscribed when the last one leaves (unless `resetOnRefCountZero: false`);
 * the next subscriber then subscribes it again. Nothing is kept for a subscriber that left.
 *
 * @param capacity The most messages held between the fastest and the slowest subscriber: a
 *   whole number >= 1 (not Infinity: an unbounded share is RxJS's `share()`).
 * @param options `overflow` (for a push source, default `'block'`), `onOverflow`, and the
 *   `share` reset options.
 * @returns An operator whose output is a demand-aware Observable.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { mpsc, shareBounded, workerPool } from 'sluice';
 *
 * const [tx, rx] = mpsc<number>(4);
 * const orders = rx.pipe(shareBounded(8));
 * const slowStore = async (n: number) => {
 *   await new Promise((resolve) => setImmediate(resolve));
 *   return n;
 * };
 * // Two consumers of every order: a slow one that stores, a fast one that counts.
 * const stored = lastValueFrom(orders.pipe(workerPool(slowStore), toArray()));
 * const counted = lastValueFrom(orders.pipe(toArray()));
 * for (let n = 1; n <= 100; n++) await tx.send(n); // paced by the slow consumer
 * tx.close();
 * assert.equal((await stored).length, 100); // nothing skipped
 * assert.equal((await counted).length, 100);
 * ```
 */
export function shareBounded<T>(
  capacity: number,
  options?: ShareBoundedOptions<T>,
): MonoTypeOperatorFunction<T> {
  const where = 'shareBounded';
  checkCapacity(where, 'capacity', capacity, false);
  const opts = checkOptions<ShareBoundedOptions<T>>(where, options, SHARE_BOUNDED_OPTIONS);
  const buffer: SharedStageConfig<T> = bufferConfig<T>(where, capacity, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const resetOnError = resetOption<[error: unknown]>(where, 'resetOnError', opts.resetOnError);
  const resetOnComplete = resetOption<[]>(where, 'resetOnComplete', opts.resetOnComplete);
  const resetOnRefCountZero = resetOption<[]>(
    where,
    'resetOnRefCountZero',
    opts.resetOnRefCountZero,
  );

  return (source: Observable<T>) => {
    // Per operator application, as share(): one connection at a time for this source.
    let current: SharedStage<T> | undefined;
    let pending: Subscription | undefined;
    const cancelPending = (): void => {
      pending?.unsubscribe();
      pending = undefined;
    };
    const schedule = <A extends unknown[]>(
      on: ShareBoundedReset<A>,
      reset: () => void,
      ...args: A
    ): void => {
      cancelPending();
      if (on === true) reset();
      else if (on !== false) {
        // The first value resets; a notifier may emit synchronously, before `subscribe` returns.
        let fired = false;
        let notifier: Subscription | undefined;
        const fire = (): void => {
          if (fired) return;
          fired = true;
          notifier?.unsubscribe();
          reset();
        };
        notifier = from(on(...args)).subscribe({ next: fire });
        if (fired) notifier.unsubscribe();
        else pending = notifier;
      }
    };
    const drop = (stage: SharedStage<T>) => (): void => {
      if (current === stage) current = undefined;
    };
    const onEmpty = (stage: SharedStage<T>): void =>
      schedule(resetOnRefCountZero, () => {
        stage.disconnect();
        drop(stage)();
      });
    const onEnded = (stage: SharedStage<T>, failure: { error: unknown } | undefined): void => {
      if (failure) schedule(resetOnError, drop(stage), failure.error);
      else schedule(resetOnComplete, drop(stage));
    };
    return new PullObservable<T>((sink) => {
      if (current === undefined) current = new SharedStage<T>(source, buffer, onEmpty, onEnded);
      else if (!current.ended) cancelPending(); // a subscriber came back before the reset
      return current.add(sink);
    });
  };
}

function resetOption<A extends unknown[]>(
  where: string,
  name: string,
  value: unknown,
): ShareBoundedReset<A> {
  if (value === undefined) return true;
  if (typeof value === 'boolean' || typeof value === 'function') {
    return value as ShareBoundedReset<A>;
  }
  throw new TypeError(`${where}: ${name} must be a boolean or a function, got ${describe(value)}`);
}
