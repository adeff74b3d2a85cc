import type { ObservableInput, Observer, OperatorFunction, SchedulerLike } from 'rxjs';
import type {
  DeadLetter,
  Delivered,
  DeliveryContext,
  RetryEvent,
  StaleAck,
} from '../deliveryRecords.js';
import { backoffDelay, backoffPlan } from '../internal/backoff.js';
import { isPullable } from '../internal/demand.js';
import { type DeliverySettings, DeliveryStage } from '../internal/operator/deliveryStage.js';
import { operate } from '../internal/operator/operate.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkOptions,
  checkScheduler,
  describe,
  optionNames,
} from '../internal/validate.js';
import type { Instrumentation } from '../observe/instrumentation.js';
import { probeOption, withArrivals } from '../observe/probe.js';
import type { OverflowOptions } from '../overflow.js';

export type { DeadLetter, Delivered, DeliveryContext, RetryEvent, StaleAck };

/**
 * Exponential backoff between attempts. After `n` failed attempts the next one starts
 * `min(max, initial * factor ** (n - 1)) * (1 - jitter * random())` milliseconds later.
 */
export interface Backoff {
  /** Delay before the first retry, in milliseconds. @default 1000 */
  readonly initial?: number;
  /** Growth per retry, >= 1 (1 is a constant delay). @default 2 */
  readonly factor?: number;
  /** Upper bound of the delay before jitter, finite. @default 30000, or `initial` if larger */
  readonly max?: number;
  /**
   * Fraction of the delay that is randomised, from 0 to 1: 0 is no jitter, 0.5 "equal
   * jitter" (between half and all of the delay), 1 "full jitter" (anything up to the delay).
   * @default 0
   */
  readonly jitter?: number;
}

/** Options of `atLeastOnce`. */
export interface AtLeastOnceOptions<T, A = unknown> extends OverflowOptions<T> {
  /**
   * How long each attempt waits for its ack, counted from that attempt's start, in
   * milliseconds; `Infinity` waits forever. @default 30000
   */
  readonly ackTimeout?: number;
  /** Attempts per message before it is dead-lettered, or `Infinity`. @default 5 */
  readonly maxAttempts?: number;
  /** Delay between attempts; a number is a constant delay. @default { initial: 1000, factor: 2, max: 30000, jitter: 0 } */
  readonly backoff?: number | Backoff;
  /** The random source of the jitter, returning a number in [0, 1]. @default Math.random */
  readonly random?: () => number;
  /**
   * Messages in flight at once (being attempted or waiting to retry): a whole number >= 1 or
   * `Infinity`. @default 1
   */
  readonly concurrency?: number;
  /**
   * Messages that may wait for a free slot: from a push source, or read ahead from a sluice
   * stage in front; `Infinity` for no bound. @default 1000
   */
  readonly capacity?: number;
  /**
   * Where messages go after `maxAttempts`: an Observer (a channel sender, a Subject; only
   * `next` is called, the destination stays open) or a callback. Without it, the output fails
   * with `DeliveryFailedError`.
   */
  readonly deadLetter?: Pick<Observer<DeadLetter<T>>, 'next'> | ((record: DeadLetter<T>) => void);
  /**
   * Whether a failed attempt may be retried, given its error (the ack timeout's
   * `AckTimeoutError` included) and the attempt's number from 1. `false` dead-letters the
   * message at once (BullMQ's `UnrecoverableError`, decided by the consumer): a validation
   * error will fail the same way on every retry. Not called for the last of `maxAttempts`.
   * An exception it throws fails the output. @default every error is retried
   */
  readonly retryable?: (error: unknown, attempt: number) => boolean;
  /** Told about each failed attempt that will be retried. */
  readonly onRetry?: (event: RetryEvent<T>) => void;
  /** Told about each ack that arrived for an abandoned attempt (and was ignored). */
  readonly onStaleAck?: (event: StaleAck<T, A>) => void;
  /**
   * Told as messages arrive, start their first attempt and end (`poolMetrics()` counts them):
   * `'done'` when acked, `'failed'` when dead-lettered (or failing the output), with how long
   * each waited for a free slot and how long it was in flight, over all its attempts. Its clock
   * is `scheduler` unless it has its own.
   */
  readonly instrument?: Instrumentation<T>;
  /** Where ack timeouts and retry delays are scheduled. @default a monotonic scheduler (`performance.now()`, immune to wall-clock changes) */
  readonly scheduler?: SchedulerLike;
}

const WHERE = 'atLeastOnce';
const ATLEASTONCE_OPTIONS = optionNames<AtLeastOnceOptions<unknown>>()({
  ackTimeout: 1,
  maxAttempts: 1,
  backoff: 1,
  random: 1,
  concurrency: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  deadLetter: 1,
  retryable: 1,
  onRetry: 1,
  onStaleAck: 1,
  scheduler: 1,
  instrument: 1,
});

/**
 * Delivers every message at least once: each attempt must be acknowledged within
 * `ackTimeout`, failed attempts are retried with backoff, and a message that exhausts
 * `maxAttempts` goes to `deadLetter`. The per-message counterpart of RxJS's stream-level
 * `retry` and `timeout`, and the producer side of SQS redrive or RabbitMQ acks.
 *
 * `deliver(message, { attempt, signal })` makes one attempt and returns an `ObservableInput`
 * whose first value is the ack. An attempt is abandoned (its `signal` aborts) when no ack
 * comes within `ackTimeout`, when it errors, or when it completes without a value; the
 * message is then retried after the backoff. The output emits `{ message, ack, attempts }`
 * once per acknowledged message, in ack order.
 *
 * ```text
 * source:     a|
 * attempt 1:  ---T            T: no ack within ackTimeout 3, abandoned (its signal aborts)
 * attempt 2:      -k          starts at 4 (backoff 1), acks at 5
 * output:     -----(x|)       x = { message: 'a', ack: 'k', attempts: 2 }
 * ```
 *
 * An ack that arrives for an abandoned attempt is ignored and reported to `onStaleAck`; it is
 * never emitted twice. After a timeout the abandoned attempt stays subscribed, so that such a
 * late ack is seen, until the message is acknowledged or dead-lettered.
 *
 * Retry delay after `n` failed attempts (`n >= 1`), with `random()` in [0, 1]:
 * `min(max, initial * factor ** (n - 1)) * (1 - jitter * random())`.
 *
 * Timers: every ack deadline goes through one scheduler action, armed for the earliest one
 * (deadlines come in the order attempts start, so no heap is needed), and each message waiting
 * for a retry has one. A synchronous ack reads no clock and arms nothing.
 *
 * **Backpressure.** At most `concurrency` messages are in flight (attempted, or waiting to be
 * retried), and a message is taken only when its acknowledgement has somewhere to go: the
 * output is demand-aware, so a sluice stage after this one (a `workerPool`, another delivery
 * stage, `for await`) slows it down; a plain subscriber is unlimited demand. A channel receiver
 * or `fromIterable` is asked for one message per free slot, so a `'block'` channel in front
 * pushes back on its senders; a sluice stage in front (a pool) is let work up to `capacity`
 * (default 1000) ahead; synchronous RxJS operators in between (`map`, `filter`, `scan`, ...)
 * carry that demand. A source that cannot be paced (a `Subject`, `interval`, or a `delay` in
 * between) fills a buffer of `capacity` under the `overflow` policy: `'drop'` and `'replace'`
 * report to `onOverflow`; `'block'` (the default) and `'error'` cannot make a push source wait,
 * so the output stops taking messages, finishes every message already accepted, then fails
 * with `ChannelFullError` carrying the refused message.
 *
 * **Errors.** With no `deadLetter`, a message that exhausts `maxAttempts` fails the output at
 * once with `DeliveryFailedError` (`value` the message, `attempts`, `cause` the last error,
 * which its message names); other messages in flight are cancelled. A failed attempt that
 * `retryable` says is not worth retrying ends the message there, as if it were the last. An ack timeout is an `AckTimeoutError` (with
 * `attempt` and `ackTimeout`; message `no ack within <ackTimeout>ms (attempt <n>)`). A
 * `deliver` that throws makes a failed attempt like an error would. An error from `deadLetter`,
 * `retryable`, `onRetry`, `onStaleAck`, `onOverflow` or `random` fails the output at once. A source error, like completion, first
 * lets every accepted message finish (ack or dead letter), then reaches the output.
 *
 * **Cancellation.** Unsubscribing cancels the deadline timer and every backoff, unsubscribes
 * every attempt (stale ones included), aborts their signals and discards messages waiting for
 * a slot. While subscribed and idle, the deadline timer may stay armed until the deadline it
 * was armed for, then it finds nothing due and stops.
 *
 * **Differences from SQS and RabbitMQ.** The deadline is per attempt and counted from that
 * attempt's start (a lease, like a visibility timeout), not from the message's creation. An
 * ack exactly at the deadline (same virtual instant) still counts: the deadline is checked
 * after the other events of that instant. An ack for an abandoned
 * attempt does not settle the message (SQS may accept a stale receipt handle). A completed
 * `ObservableInput` without a value is a failed attempt, not an ack.
 *
 * @param deliver Makes one delivery attempt; its first value is the ack.
 * @param options `ackTimeout`, `maxAttempts`, `backoff`, `random`, `concurrency`,
 *   `capacity`, `overflow`, `onOverflow`, `deadLetter`, `retryable`, `onRetry`, `onStaleAck`,
 *   `scheduler`.
 * @returns An operator emitting `{ message, ack, attempts }` per acknowledged message.
 * @throws TypeError or RangeError for a bad `deliver` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { of, throwError } from 'rxjs';
 * import { TestScheduler } from 'rxjs/testing';
 * import { atLeastOnce, type DeadLetter } from 'sluice';
 *
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(
 *   ({ cold, expectObservable }) => {
 *     const dead: DeadLetter<string>[] = [];
 *     const output = cold('a-b|').pipe(
 *       atLeastOnce(
 *         (message, { attempt }) =>
 *           message === 'a' && attempt < 2 ? throwError(() => new Error('busy')) : of('ok'),
 *         { backoff: 5, maxAttempts: 2, deadLetter: (record) => dead.push(record) },
 *       ),
 *     );
 *     // a fails at 0, is retried at 5 and acked; b is acked as soon as a's slot frees.
 *     expectObservable(output).toBe('-----(xy|)', {
 *       x: { message: 'a', ack: 'ok', attempts: 2 },
 *       y: { message: 'b', ack: 'ok', attempts: 1 },
 *     });
 *   },
 * );
 * ```
 */
export function atLeastOnce<T, A>(
  deliver: (message: T, context: DeliveryContext) => ObservableInput<A>,
  options?: AtLeastOnceOptions<T, A>,
): OperatorFunction<T, Delivered<T, A>> {
  checkFunction(WHERE, 'deliver', deliver);
  const opts = checkOptions<AtLeastOnceOptions<T, A>>(WHERE, options, ATLEASTONCE_OPTIONS);
  const ackTimeout =
    opts.ackTimeout === undefined
      ? 30_000
      : checkDuration(WHERE, 'ackTimeout', opts.ackTimeout, true);
  const maxAttempts =
    opts.maxAttempts === undefined ? 5 : checkCapacity(WHERE, 'maxAttempts', opts.maxAttempts);
  const concurrency =
    opts.concurrency === undefined ? 1 : checkCapacity(WHERE, 'concurrency', opts.concurrency);
  const buffer = bufferConfig<T>(WHERE, opts.capacity ?? 1000, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const backoff =
    opts.backoff === undefined
      ? { initial: 1000, factor: 2, max: 30_000, jitter: 0 }
      : backoffPlan(WHERE, 'backoff', opts.backoff);
  const random = checkFunction<() => number>(WHERE, 'random', opts.random, true) ?? Math.random;
  const deadLetter = deadLetterSink(opts.deadLetter);
  const retryable = checkFunction<(error: unknown, attempt: number) => boolean>(
    WHERE,
    'retryable',
    opts.retryable,
    true,
  );
  const onRetry = checkFunction<(event: RetryEvent<T>) => void>(
    WHERE,
    'onRetry',
    opts.onRetry,
    true,
  );
  const onStaleAck = checkFunction<(event: StaleAck<T, A>) => void>(
    WHERE,
    'onStaleAck',
    opts.onStaleAck,
    true,
  );
  const scheduler = checkScheduler<SchedulerLike>(WHERE, opts.scheduler) ?? monotonicScheduler;
  const instrument = probeOption<T>(WHERE, opts.instrument, scheduler);

  const retryDelay = (failed: number): number => backoffDelay(WHERE, backoff, failed, random);

  const settings: DeliverySettings<T, A> = {
    where: WHERE,
    deliver,
    ackTimeout,
    maxAttempts,
    concurrency,
    retryDelay,
    deadLetter,
    retryable,
    onRetry,
    onStaleAck,
    scheduler,
  };

  return operate<T, Delivered<T, A>>((source, out) => {
    const probe = instrument?.fresh();
    // arrivals are watched only where messages wait here: a push source
    const watched = probe !== undefined && !isPullable(source);
    const intake = {
      source,
      pushed: watched ? withArrivals(source, probe) : source,
      buffer: watched ? probe.watchOverflow(buffer) : buffer,
    };
    new DeliveryStage<T, A>(out, settings, intake, probe);
  });
}

function deadLetterSink<T>(value: unknown): ((record: DeadLetter<T>) => void) | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as (record: DeadLetter<T>) => void;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { next?: unknown }).next === 'function'
  ) {
    const observer = value as Pick<Observer<DeadLetter<T>>, 'next'>;
    return (record) => observer.next(record);
  }
  throw new TypeError(
    `${WHERE}: deadLetter must be an Observer or a function, got ${describe(value)}`,
  );
}
