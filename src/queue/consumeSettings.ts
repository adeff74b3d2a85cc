import { isObservable, map, type Observable, type SchedulerLike } from 'rxjs';
import { backoffDelay, backoffPlan } from '../internal/backoff.js';
import { checkLiveLimit } from '../internal/poolFlow.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkBoolean,
  checkCapacity,
  checkDuration,
  checkOptions,
  checkScheduler,
  checkSignal,
  describe,
  renamedOption,
} from '../internal/validate.js';
import { type Probe, probeOption } from '../observe/probe.js';
import type { ConsumeOptions } from './consumeTypes.js';
import { CONSUME_OPTIONS } from './optionNames.js';
import type { MaybePromise, QueueStore } from './store.js';
import type { Delivery } from './types.js';

/** A consumer's options, checked, with their defaults (internal). */
export interface ConsumeSettings<T> {
  readonly timeout: number;
  readonly keepAlive: boolean;
  /** The delay of a failed message's nack. */
  readonly backoff: (message: Delivery<T>, error: unknown) => number;
  readonly scheduler: SchedulerLike;
  readonly probe: Probe<Delivery<T>> | undefined;
  readonly pollWait: number;
  /** `consumeQueue`, for the messages of errors. */
  readonly where: string;
}

/** Everything `consumeQueue` reads from its options. */
export interface ConsumePlan<T> {
  readonly concurrency: number | Observable<number>;
  readonly drain: AbortSignal | undefined;
  readonly settings: ConsumeSettings<T>;
}

/** With `keepAlive`, a handler's default `timeout` is this many visibility timeouts. */
const KEEP_ALIVE_TIMEOUT_LEASES = 10;

/** Checks `consumeQueue`'s options (bad ones throw, named) and fills in the defaults. */
export function consumePlan<T>(
  where: string,
  store: QueueStore<T>,
  options: ConsumeOptions<T> | undefined,
): ConsumePlan<T> {
  const opts = checkOptions<ConsumeOptions<T>>(where, options, CONSUME_OPTIONS);
  const concurrency = consumeConcurrency(where, opts.concurrency);
  const drain = checkSignal(
    where,
    renamedOption(where, 'drain', opts.drain, 'signal', opts.signal),
    opts.drain === undefined && opts.signal !== undefined ? 'signal' : 'drain',
  );
  const keepAlive =
    opts.keepAlive === undefined ? false : checkBoolean(where, 'keepAlive', opts.keepAlive);
  const timeout =
    opts.timeout === undefined
      ? defaultTimeout(keepAlive, store.visibilityTimeout)
      : checkDuration(where, 'timeout', opts.timeout, true);
  const backoff = backoffOption<T>(
    where,
    renamedOption(where, 'backoff', opts.backoff, 'retryDelay', opts.retryDelay),
    opts.backoff === undefined && opts.retryDelay !== undefined ? 'retryDelay' : 'backoff',
  );
  const scheduler = checkScheduler<SchedulerLike>(where, opts.scheduler) ?? monotonicScheduler;
  const pollWait =
    opts.pollWait === undefined ? 20_000 : checkDuration(where, 'pollWait', opts.pollWait, true);
  const probe = probeOption<Delivery<T>>(where, opts.instrument, scheduler);
  return {
    concurrency,
    drain,
    settings: { timeout, keepAlive, backoff, scheduler, pollWait, probe, where },
  };
}

/** The `backoff` option (or its alias `retryDelay`, named `name`) as a delay per failure. */
function backoffOption<T>(
  where: string,
  value: unknown,
  name: string,
): (message: Delivery<T>, error: unknown) => number {
  if (value === undefined) return () => 0;
  if (typeof value === 'function') return value as (message: Delivery<T>, error: unknown) => number;
  if (typeof value === 'number') {
    const fixed = checkDuration(where, name, value);
    return () => fixed;
  }
  if (name === 'retryDelay') {
    throw new TypeError(
      `${where}: retryDelay must be a number of milliseconds or a function, got ${describe(value)}`,
    );
  }
  if (value === null || typeof value !== 'object') {
    throw new TypeError(
      `${where}: backoff must be a number of milliseconds, a Backoff or a function, got ${describe(value)}`,
    );
  }
  const plan = backoffPlan(where, name, value);
  return (message) => backoffDelay(where, plan, message.attempt, Math.random);
}

/** A fixed `concurrency`, checked; an Observable one, checked value by value (0 pauses). */
function consumeConcurrency(where: string, value: unknown): number | Observable<number> {
  if (value === undefined) return 1;
  if (isObservable(value)) return value.pipe(map((limit) => checkLiveLimit(where, limit)));
  return checkCapacity(where, 'concurrency', value);
}

/**
 * The default `timeout`: with `keepAlive` on a finite lease, 10 leases (a handler that never
 * settles must not hold its message forever); otherwise none, as the lease's end stops it.
 */
function defaultTimeout(keepAlive: boolean, lease: number): number {
  if (!keepAlive || !(lease > 0) || lease === Number.POSITIVE_INFINITY) {
    return Number.POSITIVE_INFINITY;
  }
  return KEEP_ALIVE_TIMEOUT_LEASES * lease;
}

export function isPromiseLike<R>(value: MaybePromise<R>): value is PromiseLike<R> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<R>).then === 'function'
  );
}

/** Calls `onValue` now for a plain value, or when a promise settles. */
export function whenDone<R>(
  value: MaybePromise<R>,
  onValue: (result: R) => void,
  onError: (error: unknown) => void,
): void {
  if (isPromiseLike(value)) value.then(onValue, onError);
  else onValue(value);
}

/**
 * Gives a lease back without counting the attempt. If the store fails to, the lease runs out
 * on its own and the message is redelivered: nothing is lost.
 */
export function releaseQuietly<T>(store: QueueStore<T>, receipt: string): void {
  try {
    const released = store.release(receipt);
    if (isPromiseLike(released)) released.then(undefined, () => {});
  } catch {
    // as above
  }
}
