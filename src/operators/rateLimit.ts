import {
  isObservable,
  type MonoTypeOperatorFunction,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { RateLimitStage, type RateRule } from '../internal/flow/rateLimitStage.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkFunction,
  checkInteger,
  checkOptions,
  checkScheduler,
  describe,
  optionNames,
} from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/** One sliding window of a rate limit: at most `limit` units in any `interval` ms. */
export interface RateWindow {
  /**
   * Units allowed in any window of `interval` ms: a whole number >= 1, or an Observable of whole
   * numbers >= 0 that changes the limit while running (0 pauses; nothing leaves until it has
   * given its first value).
   */
  readonly limit: number | Observable<number>;
  /** The window's length in milliseconds, > 0. */
  readonly interval: number;
  /**
   * Smoothing: at most `burst` units in any window of `interval * burst / limit` ms, so a full
   * window's allowance is not released all at once. `1` spaces messages evenly. @default limit (no smoothing)
   */
  readonly burst?: number;
}

/** The options of `rateLimit` every form shares, besides its window(s). */
export interface RateLimitCommonOptions<T> extends OverflowOptions<T> {
  /** What one message costs against each limit: a whole number >= 0. @default 1 for every message */
  readonly cost?: (message: T) => number;
  /** The most messages a push source may get ahead of the limit (buffered under `overflow`). @default 1000 */
  readonly capacity?: number;
  /** The clock and timers. @default a monotonic scheduler (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
}

/**
 * Options of `rateLimit`: one window (`limit`, `interval`, `burst`) or several at once
 * (`windows`), and the common options (`cost`, `capacity`, `overflow`, `onOverflow`, `scheduler`).
 */
export type RateLimitOptions<T> = RateLimitCommonOptions<T> &
  (
    | (RateWindow & { readonly windows?: undefined })
    | {
        /** Several windows held at once, e.g. 4 per second and 60 per minute. */
        readonly windows: readonly RateWindow[];
        readonly limit?: undefined;
        readonly interval?: undefined;
        readonly burst?: undefined;
      }
  );

/** @deprecated Use `RateLimitOptions`. */
export type RateLimitConfig<T> = RateLimitOptions<T>;

const WHERE = 'rateLimit';
const RATE_LIMIT_OPTIONS = optionNames<
  RateLimitCommonOptions<unknown> & RateWindow & { windows: unknown }
>()({
  limit: 1,
  interval: 1,
  burst: 1,
  windows: 1,
  cost: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  scheduler: 1,
});
const WINDOW_OPTIONS = optionNames<RateWindow>()({ limit: 1, interval: 1, burst: 1 });

/**
 * Lets at most `limit` messages (or `limit` units of `cost(message)`) through in any window of
 * `interval` milliseconds, each as early as that allows. The window slides: every span of
 * `interval` ms is checked, not fixed buckets, so no two buckets' worth can pass back to back.
 *
 * ```text
 * limit 2, interval 5
 * source:  abcd-----|
 * output:  ab---cd--|      c waits until a leaves the window (frame 5), d until b does
 * ```
 *
 * **Several limits.** `windows: [{ limit: 4, interval: 1000 }, { limit: 60, interval: 60000 }]`
 * holds both at once, exactly: a message leaves when every window has room. (Piping two
 * `rateLimit`s is not the same with a `cost`: the second may hold a heavy message back while
 * the first lets the next ones through, and the output can then exceed the first limit.)
 * `burst` smooths one window: at most `burst` units in any `interval * burst / limit` ms; a
 * message that costs more than `burst` leaves alone.
 *
 * **Changing the limit.** `limit` may be an Observable (a `watch` channel, a
 * `BehaviorSubject`): each value applies at once to its window, counting what already left
 * within it, so lowering the limit never lets the old rate through. 0 pauses; nothing leaves
 * before its first value.
 *
 * **Memory.** One entry (a time and a running total, 16 bytes) per instant at which messages
 * left within the longest interval, whatever the limit; nothing per waiting message.
 *
 * **Backpressure.** It holds one message of its own: the next to leave. From a demand-aware
 * source (a sluice channel, `fromIterable`, `bounded`) it asks for a message only when its
 * consumer wants one and a unit is free now, so the source is never drained ahead and its
 * producer waits. A push source cannot wait: what it sends ahead of the limit is buffered up to
 * `capacity` under `overflow`, exactly as `bounded` (`'drop'`/`'replace'` report each discarded
 * message to `onOverflow`; `'block'` and `'error'` fail with `ChannelFullError`). Its output is
 * demand-aware in turn: a `workerPool` after it takes messages only as fast as it works.
 *
 * **Errors.** Source errors arrive after the message waiting to leave. The output fails with a
 * `RangeError` when `cost` returns something other than a whole number >= 0 or more than a
 * limit (such a message could never leave), and when a changing limit gives a bad value or
 * completes without one; with the error of `cost` or of the limit Observable when they fail.
 *
 * **Cancellation.** Unsubscribing cancels the upstream, the limit subscriptions and the timer;
 * the waiting message is discarded.
 *
 * @param options a window (`limit`, `interval`, `burst`) or `windows`, and `cost`, `capacity`,
 *   `overflow`, `onOverflow`, `scheduler`.
 * @returns An operator whose output is a demand-aware Observable.
 * @throws TypeError or RangeError for a bad option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { TestScheduler } from 'rxjs/testing';
 * import { rateLimit } from 'sluice';
 *
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(
 *   ({ cold, expectObservable }) => {
 *     const calls = cold('abcd-----|').pipe(rateLimit({ limit: 2, interval: 5 }));
 *     expectObservable(calls).toBe('ab---cd--|');
 *   },
 * );
 * ```
 */
export function rateLimit<T>(options: RateLimitOptions<T>): MonoTypeOperatorFunction<T> {
  const opts = checkOptions<RateLimitOptions<T>>(WHERE, options, RATE_LIMIT_OPTIONS);
  if (options === undefined) {
    throw new TypeError(
      `${WHERE}: options must be an object with limit and interval, got undefined`,
    );
  }
  const rules = readRules(opts);
  const cost = checkFunction<(message: T) => number>(WHERE, 'cost', opts.cost, true);
  const buffer = bufferConfig<T>(WHERE, opts.capacity === undefined ? 1000 : opts.capacity, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const scheduler = checkScheduler<SchedulerLike>(WHERE, opts.scheduler) ?? monotonicScheduler;
  const horizon = Math.max(...rules.map((rule) => rule.interval));
  const plan = { where: WHERE, rules, cost, buffer, scheduler, horizon };
  return (source) => new PullObservable<T>((sink) => new RateLimitStage(source, plan, sink));
}

function readRules(opts: Partial<RateWindow & { windows: unknown }>): RateRule[] {
  const windows = opts.windows;
  if (windows === undefined) return [readWindow(WHERE, opts)];
  if (opts.limit !== undefined || opts.interval !== undefined || opts.burst !== undefined) {
    throw new TypeError(
      `${WHERE}: give either windows or limit and interval, not both (got windows and ${
        opts.limit !== undefined ? 'limit' : opts.interval !== undefined ? 'interval' : 'burst'
      })`,
    );
  }
  if (!Array.isArray(windows) || windows.length === 0) {
    throw new TypeError(
      `${WHERE}: windows must be a non-empty array of { limit, interval }, got ${describe(windows)}`,
    );
  }
  return windows.map((window: unknown, i) =>
    readWindow(
      `${WHERE}: windows[${i}]`,
      checkOptions<RateWindow>(`${WHERE}: windows[${i}]`, window, WINDOW_OPTIONS),
    ),
  );
}

function readWindow(where: string, window: Partial<RateWindow>): RateRule {
  const limit = window.limit;
  if (!isObservable(limit)) {
    if (typeof limit !== 'number') {
      throw new TypeError(
        `${where}: limit must be a whole number >= 1 or an Observable of numbers, got ${describe(limit)}`,
      );
    }
    checkInteger(where, 'limit', limit, 1);
  }
  const interval = window.interval;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0) {
    const kind = typeof interval === 'number' ? RangeError : TypeError;
    throw new kind(
      `${where}: interval must be a finite number of milliseconds > 0, got ${describe(interval)}`,
    );
  }
  let burst: number | undefined;
  if (window.burst !== undefined) {
    burst = checkInteger(where, 'burst', window.burst, 1);
    if (typeof limit === 'number' && burst > limit) {
      throw new RangeError(`${where}: burst must be at most limit (${limit}), got ${burst}`);
    }
  }
  return { limit: limit as number | Observable<number>, interval, burst };
}
