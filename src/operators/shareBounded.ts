import type { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { SharedStage, type SharedStageConfig } from '../internal/sharedStage.js';
import { checkBoolean, checkCapacity, checkOptions } from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/** Options of {@link shareBounded}. */
export interface ShareBoundedConfig<T> extends OverflowOptions<T> {
  /**
   * After the source errors, the next subscriber subscribes it again (true), or gets the same
   * error at once (false). As RxJS's `share`. @default true
   */
  readonly resetOnError?: boolean;
  /**
   * After the source completes, the next subscriber subscribes it again (true), or completes
   * at once (false). As RxJS's `share`. @default true
   */
  readonly resetOnComplete?: boolean;
  /**
   * When the last subscriber leaves before the end, the source is unsubscribed and the next
   * subscriber subscribes it again (true), or the source stays subscribed (false; messages
   * that arrive while nobody subscribes are not kept). As RxJS's `share`. @default true
   */
  readonly resetOnRefCountZero?: boolean;
}

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
 * never stalls the others.
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
 * @param config `overflow` (for a push source, default `'block'`), `onOverflow`, and the
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
  config?: ShareBoundedConfig<T>,
): MonoTypeOperatorFunction<T> {
  const where = 'shareBounded';
  checkCapacity(where, 'capacity', capacity, false);
  const opts = checkOptions<ShareBoundedConfig<T>>(where, config);
  const buffer: SharedStageConfig<T> = bufferConfig<T>(where, capacity, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const resetOnError = flag(where, 'resetOnError', opts.resetOnError);
  const resetOnComplete = flag(where, 'resetOnComplete', opts.resetOnComplete);
  const resetOnRefCountZero = flag(where, 'resetOnRefCountZero', opts.resetOnRefCountZero);

  return (source: Observable<T>) => {
    // Per operator application, as share(): one connection at a time for this source.
    let current: SharedStage<T> | undefined;
    const onEmpty = (stage: SharedStage<T>): void => {
      if (!resetOnRefCountZero) return;
      stage.disconnect();
      if (current === stage) current = undefined;
    };
    return new PullObservable<T>((sink) => {
      if (
        current === undefined ||
        (current.ended && (current.failed ? resetOnError : resetOnComplete))
      ) {
        current = new SharedStage<T>(source, buffer, onEmpty);
      }
      return current.add(sink);
    });
  };
}

function flag(where: string, name: string, value: unknown): boolean {
  return value === undefined ? true : checkBoolean(where, name, value);
}
