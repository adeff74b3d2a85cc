import { type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs';
import { Intake, KeyWindow, windowConfig } from '../internal/deliveryInternals.js';
import {
  type Demand,
  isPullable,
  PullObservable,
  pull,
  type Sink,
  StageObservable,
  wantsReadAhead,
} from '../internal/demand.js';

import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import { checkFunction, checkOptions, optionNames } from '../internal/validate.js';

/** Options of `dedupe`. */
export interface DedupeOptions<T, K = T> {
  /** The message's identity, compared with `Map` semantics (SameValueZero). @default the message itself */
  readonly key?: (message: T) => K;
  /**
   * How long a key is remembered after the message that first carried it passed, in
   * milliseconds; `Infinity` keeps keys until `maxKeys` evicts them. @default 300000 (5 minutes, the SQS FIFO deduplication interval)
   */
  readonly ttl?: number;
  /** The most keys remembered at once; the oldest is forgotten first. `Infinity` for no bound. @default 10000 */
  readonly maxKeys?: number;
  /** The clock that TTLs are measured on (only `now()` is used). @default a monotonic scheduler (`performance.now()`, immune to wall-clock changes) */
  readonly scheduler?: SchedulerLike;
  /** Told about each message dropped as a duplicate, with its key. */
  readonly onDuplicate?: (message: T, key: K) => void;
}

const WHERE = 'dedupe';
const DEDUPE_OPTIONS = optionNames<DedupeOptions<unknown>>()({
  key: 1,
  ttl: 1,
  maxKeys: 1,
  scheduler: 1,
  onDuplicate: 1,
});

/**
 * Passes a message only if its key was not seen within the last `ttl` milliseconds, with
 * memory bounded by `maxKeys`: a deduplication window like SQS FIFO's, for the consumer side of
 * at-least-once delivery. Unlike RxJS's `distinct`, which keeps every key forever, keys are
 * forgotten after `ttl` and the oldest are evicted beyond `maxKeys`.
 *
 * ```text
 * source:  a-b-a-----a-|     ttl 6
 * output:  a-b-------a-|     the second a (at 4) is within 6 of the first (at 0);
 *                            the third (at 10) is not
 * ```
 *
 * The window counts from the first message with a key that passed; duplicates do not extend
 * it. A message arriving exactly `ttl` after passes again. Expiry needs no timer: a `Map` finds
 * keys and a ring buffer keeps them in arrival order, so the ones that expired are at its front
 * and are removed there, checked against `scheduler.now()` when the next message arrives. Each
 * message costs O(1) amortised: one key lookup, one insert, at most one eviction, and the
 * removal of keys that expired since (each key is removed once).
 *
 * Memory: at most `maxKeys` keys (default 10000), each held no longer than `ttl` (default 5
 * minutes) while messages flow; an idle stream keeps its keys until the next message or the
 * end of the subscription. With `maxKeys: Infinity` and `ttl: Infinity` the memory is unbounded,
 * as with `distinct`. An evicted key weakens the guarantee: a later duplicate of it passes.
 * Size `maxKeys` for the number of distinct keys expected within one `ttl`.
 *
 * **Backpressure.** Nothing is buffered: each message is passed or dropped synchronously.
 * Demand passes through: over a sluice source the output is one too (a duplicate asks for one
 * more), and between two sluice stages it carries their demand like any synchronous operator.
 *
 * **Errors.** Source errors pass through. A `key` or `onDuplicate` that throws fails the output
 * with that error. A dropped duplicate is not an error: it is reported to `onDuplicate`.
 *
 * **Cancellation.** Unsubscribing forgets every key; a new subscription starts empty.
 *
 * **Differences from SQS FIFO deduplication.** The window is per subscription and in memory; it
 * is bounded by `maxKeys` as well as by time; keys are compared with SameValueZero, so object
 * keys compare by reference (derive a string or number key for structured ids).
 *
 * @param options `key`, `ttl`, `maxKeys`, `scheduler`, `onDuplicate`.
 * @returns An operator that drops messages whose key was seen within `ttl`.
 * @throws TypeError or RangeError for a bad option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { TestScheduler } from 'rxjs/testing';
 * import { dedupe } from 'sluice';
 *
 * const duplicates: string[] = [];
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(
 *   ({ cold, expectObservable }) => {
 *     const output = cold('a-b-a-----a-|').pipe(
 *       dedupe({ ttl: 6, onDuplicate: (message) => duplicates.push(message) }),
 *     );
 *     expectObservable(output).toBe('a-b-------a-|');
 *   },
 * );
 * assert.deepEqual(duplicates, ['a']);
 * ```
 */
export function dedupe<T, K = T>(options?: DedupeOptions<T, K>): MonoTypeOperatorFunction<T> {
  const opts = checkOptions<DedupeOptions<T, K>>(WHERE, options, DEDUPE_OPTIONS);
  const { key, ttl, maxKeys, scheduler = monotonicScheduler } = windowConfig<T, K>(WHERE, opts);
  const onDuplicate = checkFunction<(message: T, key: K) => void>(
    WHERE,
    'onDuplicate',
    opts.onDuplicate,
    true,
  );

  return (source) => {
    if (isPullable<T>(source)) {
      // a sluice source stays one: demand passes through, and a duplicate asks for one more
      const pullFn = (sink: Sink<T>): Demand => {
        const seen = new KeyWindow<K, true>(ttl, maxKeys);
        let over = false;
        const end = (): void => {
          over = true;
          seen.clear();
        };
        const up: Demand = source[pull]({
          next: (message) => {
            if (over) return;
            let k: K;
            try {
              k = key(message);
              const now = scheduler.now();
              seen.expire(now);
              if (seen.has(k)) {
                onDuplicate?.(message, k);
                up.request(1);
                return;
              }
              seen.set(k, true, now);
            } catch (error) {
              end();
              up.cancel();
              sink.error(error);
              return;
            }
            sink.next(message);
          },
          error: (error) => {
            if (over) return;
            end();
            sink.error(error);
          },
          complete: () => {
            if (over) return;
            end();
            sink.complete();
          },
        });
        const demand: Demand = {
          request: (n) => {
            if (!over) up.request(n);
          },
          cancel: () => {
            if (over) return;
            end();
            up.cancel();
          },
        };
        if (up.stop !== undefined) demand.stop = () => up.stop?.();
        return demand;
      };
      return wantsReadAhead(source)
        ? new StageObservable<T>(pullFn)
        : new PullObservable<T>(pullFn);
    }
    return new Observable<T>((subscriber) => {
      const seen = new KeyWindow<K, true>(ttl, maxKeys);
      subscriber.add(() => seen.clear());
      const intake = new Intake<T>(
        (message) => {
          let k: K;
          try {
            k = key(message);
            const now = scheduler.now();
            seen.expire(now);
            if (seen.has(k)) {
              onDuplicate?.(message, k);
              return;
            }
            seen.set(k, true, now);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(message);
        },
        (error) => subscriber.error(error),
        () => subscriber.complete(),
      );
      subscriber.add(intake);
      source.subscribe(intake);
    });
  };
}
