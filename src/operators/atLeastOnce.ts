import {
  from,
  type ObservableInput,
  type Observer,
  type OperatorFunction,
  type SchedulerLike,
  Subscription,
} from 'rxjs';
import { NoAckError } from '../errors/noAckError.js';
import { AckTimeoutError, DeliveryFailedError } from '../errors.js';
import { BoundedStage } from '../internal/boundedStage.js';
import { clampDelay, type Scheduled, scheduleAt } from '../internal/deadlineTimer.js';
import { LazySignal } from '../internal/deliveryInternals.js';
import {
  type Demand,
  isPullable,
  pull,
  type Sink,
  StageObservable,
  wantsReadAhead,
} from '../internal/demand.js';
import { Outlet } from '../internal/outlet.js';
import { type BufferConfig, bufferConfig } from '../internal/policyBuffer.js';
import { hideLink, restoreLink } from '../internal/roomLink.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkOptions,
  checkRange,
  checkScheduler,
  describe,
  optionNames,
} from '../internal/validate.js';
import type { Instrumentation } from '../observe/instrumentation.js';
import { probeOption, type StartedJob, withArrivals } from '../observe/probe.js';
import type { OverflowOptions } from '../overflow.js';

/** What `deliver` is told about the attempt it makes. */
export interface DeliveryContext {
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * Aborts when this attempt is abandoned: no ack within `ackTimeout`, the attempt failed, or
   * the output was unsubscribed. It does not abort after an ack.
   */
  readonly signal: AbortSignal;
}

/** One acknowledged message: what `atLeastOnce` emits. */
export interface Delivered<T, A> {
  readonly message: T;
  /** The first value of the attempt that succeeded. */
  readonly ack: A;
  /** How many attempts it took, counting the successful one (1 = no retry). */
  readonly attempts: number;
}

/** A message given up on after `maxAttempts`, as handed to `deadLetter`. */
export interface DeadLetter<T> {
  readonly message: T;
  readonly attempts: number;
  /** The last attempt's error: the error it raised, or the ack timeout. */
  readonly error: unknown;
}

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

/** A failed attempt that will be retried, as told to `onRetry`. */
export interface RetryEvent<T> {
  readonly message: T;
  /** The attempt that failed. */
  readonly attempt: number;
  /** Why: the ack timed out, or the attempt raised an error (or completed without an ack). */
  readonly reason: 'timeout' | 'error';
  readonly error: unknown;
  /** Milliseconds until the next attempt starts. */
  readonly delay: number;
}

/** An ack that arrived for an attempt already abandoned, as told to `onStaleAck`. */
export interface StaleAck<T, A> {
  readonly message: T;
  /** The abandoned attempt the ack belongs to. */
  readonly attempt: number;
  readonly ack: A;
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
const BACKOFF_OPTIONS = optionNames<Backoff>()({ initial: 1, factor: 1, max: 1, jitter: 1 });

/** What an attempt reports to the subscription it belongs to. */
interface AttemptHooks<T, A> {
  ack(attempt: Attempt<T, A>, ack: A): void;
  failed(attempt: Attempt<T, A>, error: unknown): void;
}

/**
 * One attempt at delivering a message. It is the Observer of the delivery's `ObservableInput`
 * and, being a Subscription too, RxJS subscribes it directly (see `Intake`): unsubscribing it
 * stops even a synchronous delivery after its first value. One object per attempt keeps a
 * fast ack cheap.
 */
class Attempt<T, A> extends Subscription implements Observer<A> {
  /** current: awaited; stale: abandoned after a timeout, still listened to; over: done with. */
  state: 'current' | 'stale' | 'over' = 'current';
  /** When the ack is due: the attempt's start plus `ackTimeout`. */
  deadline = 0;
  /** In the line of attempts awaiting their ack, in deadline order. */
  waiting = false;
  before: Attempt<T, A> | undefined = undefined;
  after: Attempt<T, A> | undefined = undefined;

  constructor(
    readonly flight: Flight<T, A>,
    readonly n: number,
    readonly context: AttemptContext,
    private readonly hooks: AttemptHooks<T, A>,
  ) {
    super();
  }

  next(ack: A): void {
    if (!this.closed) this.hooks.ack(this, ack);
  }

  error(error: unknown): void {
    if (this.closed) return;
    try {
      this.hooks.failed(this, error);
    } finally {
      this.unsubscribe();
    }
  }

  complete(): void {
    if (this.closed) return;
    try {
      this.hooks.failed(this, new NoAckError(this.n));
    } finally {
      this.unsubscribe();
    }
  }
}

/** One message in flight, from its first attempt until it is acked or dead-lettered. */
interface Flight<T, A> {
  readonly message: T;
  attempts: number;
  current: Attempt<T, A> | undefined;
  stale: Attempt<T, A>[] | undefined;
  retry: Scheduled | undefined;
  lastError: unknown;
  /** Instrumented: its start, for reporting its end. */
  started: StartedJob<T> | undefined;
  /** In the list of messages in flight (an intrusive list: O(1) without hashing). */
  live: boolean;
  prev: Flight<T, A> | undefined;
  next: Flight<T, A> | undefined;
}

class AttemptContext extends LazySignal implements DeliveryContext {
  constructor(readonly attempt: number) {
    super();
  }
}

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
  const backoff = backoffConfig(opts.backoff);
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

  function retryDelay(failed: number): number {
    const { initial, factor, max, jitter } = backoff;
    let delay = initial === 0 ? 0 : Math.min(max, initial * factor ** (failed - 1));
    if (jitter > 0) {
      const r = random();
      if (!(r >= 0 && r <= 1)) {
        throw new RangeError(
          `${WHERE}: random() must return a number from 0 to 1, got ${describe(r)}`,
        );
      }
      delay *= 1 - jitter * r;
    }
    return delay;
  }

  return (source) =>
    new StageObservable<Delivered<T, A>>((downstream) => {
      const subscriber = new Outlet<Delivered<T, A>>(downstream);
      /** Messages in flight, newest first, and how many. */
      let flights: Flight<T, A> | undefined;
      let inFlight = 0;
      /** Messages requested from the intake and not yet received. */
      let asked = 0;
      let ending: { readonly error?: unknown; readonly failed: boolean } | undefined;
      const probe = instrument?.fresh();

      /** Set when this stage fails: its source is told, so a channel it reads closes. */
      let failure: { readonly error: unknown } | undefined;
      const fail = (error: unknown): void => {
        failure ??= { error };
        subscriber.error(error);
      };

      const checkEnd = (): void => {
        if (ending === undefined || inFlight > 0 || subscriber.closed) return;
        if (ending.failed) subscriber.error(ending.error);
        else subscriber.complete();
      };

      /**
       * Asks for as many messages as there are free slots, as far as the output has room: a
       * message is taken only when its acknowledgement has somewhere to go. A pull source sends
       * them when it has them; the push source's stage hands over waiting messages at once.
       */
      const topUp = (): void => {
        if (subscriber.closed || ending !== undefined) return;
        const credit = subscriber.credit;
        const want = Math.min(credit, concurrency) - inFlight - asked;
        if (want > 0) {
          asked += want;
          intake.request(want);
        }
      };

      /** A slot freed: take more, or end if nothing more will come. */
      const release = (): void => {
        if (subscriber.closed) return;
        topUp();
        checkEnd();
      };

      const start = (message: T): void => {
        const flight: Flight<T, A> = {
          message,
          attempts: 0,
          current: undefined,
          stale: undefined,
          retry: undefined,
          lastError: undefined,
          started: probe?.start(message, undefined),
          live: true,
          prev: undefined,
          next: flights,
        };
        if (flights !== undefined) flights.prev = flight;
        flights = flight;
        inFlight++;
        attempt(flight);
      };

      const attempt = (flight: Flight<T, A>): void => {
        flight.retry = undefined;
        const n = ++flight.attempts;
        const at = new Attempt<T, A>(flight, n, new AttemptContext(n), hooks);
        flight.current = at;
        let input: ObservableInput<A>;
        const link = hideLink(); // the delivery's own sources must not see a link meant for us
        try {
          input = deliver(flight.message, at.context);
        } catch (error) {
          restoreLink(link);
          abandon(at, error, 'error');
          return;
        }
        try {
          from(input).subscribe(at);
        } catch (error) {
          // from() refuses something that is not an ObservableInput.
          onAttemptError(at, error);
          at.unsubscribe();
          return;
        } finally {
          restoreLink(link);
        }
        if (
          at.state === 'current' &&
          ackTimeout !== Number.POSITIVE_INFINITY &&
          !subscriber.closed
        ) {
          // Read the clock only now: a synchronous ack (the common fast case) never needs it.
          at.deadline = scheduler.now() + ackTimeout;
          awaitAck(at);
        }
      };

      /*
       * Ack deadlines. Every attempt waits `ackTimeout` from its start, and starts come in time
       * order, so deadlines come in the order attempts start: a list in start order is a
       * priority queue with O(1) insert and removal. One scheduler action, armed for the
       * earliest deadline, serves them all, instead of a timer set and cleared per attempt.
       * When the earliest attempt is acked, the action is left armed (it finds nothing due
       * and re-arms for the new earliest), so a fast stream costs about one timer per
       * ackTimeout, not one per message. An attempt whose deadline is now is expired only
       * after the other events of this instant: an ack at the deadline counts.
       */
      let lineHead: Attempt<T, A> | undefined;
      let lineTail: Attempt<T, A> | undefined;
      let sweep: Subscription | undefined;
      let sweeping = false;
      /** The instant whose second, final pass is scheduled. */
      let finalPassAt = Number.NaN;

      const awaitAck = (at: Attempt<T, A>): void => {
        at.waiting = true;
        at.before = lineTail;
        if (lineTail !== undefined) lineTail.after = at;
        else lineHead = at;
        lineTail = at;
        if (sweep === undefined && !sweeping) arm();
      };

      const stopAwaiting = (at: Attempt<T, A>): void => {
        if (!at.waiting) return;
        at.waiting = false;
        if (at.before !== undefined) at.before.after = at.after;
        else lineHead = at.after;
        if (at.after !== undefined) at.after.before = at.before;
        else lineTail = at.before;
        at.before = at.after = undefined;
      };

      const arm = (): void => {
        if (lineHead === undefined || subscriber.closed) return;
        const now = scheduler.now();
        const due = lineHead.deadline;
        if (due <= now) finalPassAt = now;
        // Clamped like every timer: a longer delay would fire after 1 ms and spin; a clamped
        // one wakes early, finds nothing due and re-arms.
        sweep = scheduler.schedule(expire, clampDelay(due - now));
      };

      const expire = (): void => {
        sweep = undefined;
        const now = scheduler.now();
        const final = finalPassAt === now;
        finalPassAt = Number.NaN;
        sweeping = true;
        try {
          while (lineHead !== undefined && !subscriber.closed) {
            const at = lineHead;
            if (at.deadline > now || (at.deadline === now && !final)) break;
            stopAwaiting(at);
            if (at.state === 'current') {
              abandon(
                at,
                new AckTimeoutError(
                  `${WHERE}: no ack within ${ackTimeout}ms (attempt ${at.n})`,
                  at.n,
                  ackTimeout,
                ),
                'timeout',
              );
            }
          }
        } finally {
          sweeping = false;
        }
        arm();
      };

      const onAck = (at: Attempt<T, A>, ack: A): void => {
        const flight = at.flight;
        if (at.state === 'stale') {
          finishAttempt(at);
          removeStale(flight, at);
          if (onStaleAck !== undefined) {
            try {
              onStaleAck({ message: flight.message, attempt: at.n, ack });
            } catch (error) {
              fail(error);
            }
          }
          return;
        }
        if (at.state !== 'current') return;
        finishAttempt(at);
        settle(flight);
        if (flight.started !== undefined) probe!.end(flight.started, 'done');
        subscriber.next({ message: flight.message, ack, attempts: at.n });
        release();
      };

      const onAttemptError = (at: Attempt<T, A>, error: unknown): void => {
        if (at.state === 'stale') {
          at.state = 'over';
          removeStale(at.flight, at);
        } else if (at.state === 'current') {
          abandon(at, error, 'error');
        }
      };

      /** Gives up on the current attempt; retries the message or dead-letters it. */
      const abandon = (at: Attempt<T, A>, error: unknown, reason: 'timeout' | 'error'): void => {
        const flight = at.flight;
        stopAwaiting(at);
        flight.current = undefined;
        flight.lastError = error;
        if (reason === 'timeout' && !at.closed) {
          at.state = 'stale';
          if (flight.stale === undefined) flight.stale = [at];
          else flight.stale.push(at);
        } else {
          at.state = 'over';
          at.unsubscribe();
        }
        at.context.abort(error);
        if (subscriber.closed || !flight.live) return;
        if (flight.attempts >= maxAttempts) {
          exhausted(flight);
          return;
        }
        let delay: number;
        try {
          if (retryable !== undefined && !isRetryable(retryable, error, at.n)) {
            exhausted(flight);
            return;
          }
          delay = retryDelay(flight.attempts);
          onRetry?.({ message: flight.message, attempt: at.n, reason, error, delay });
        } catch (err) {
          fail(err);
          return;
        }
        if (subscriber.closed) return;
        flight.retry = scheduleAt(scheduler, scheduler.now() + delay, () => {
          flight.retry = undefined;
          attempt(flight);
        });
      };

      const exhausted = (flight: Flight<T, A>): void => {
        settle(flight);
        if (flight.started !== undefined) probe!.end(flight.started, 'failed');
        if (deadLetter === undefined) {
          fail(new DeliveryFailedError(flight.message, flight.attempts, flight.lastError));
          return;
        }
        try {
          deadLetter({
            message: flight.message,
            attempts: flight.attempts,
            error: flight.lastError,
          });
        } catch (error) {
          fail(error);
          return;
        }
        release();
      };

      /** The message is done with (acked or dead-lettered): forget it and its stale attempts. */
      const settle = (flight: Flight<T, A>): void => {
        if (flight.live) {
          flight.live = false;
          if (flight.prev !== undefined) flight.prev.next = flight.next;
          else flights = flight.next;
          if (flight.next !== undefined) flight.next.prev = flight.prev;
          flight.prev = flight.next = undefined;
          inFlight--;
        }
        flight.current = undefined;
        flight.retry?.cancel();
        flight.retry = undefined;
        const stale = flight.stale;
        flight.stale = undefined;
        if (stale !== undefined) for (const at of stale) finishAttempt(at);
      };

      const finishAttempt = (at: Attempt<T, A>): void => {
        at.state = 'over';
        stopAwaiting(at);
        at.unsubscribe();
      };

      const removeStale = (flight: Flight<T, A>, at: Attempt<T, A>): void => {
        const stale = flight.stale;
        if (stale === undefined) return;
        const index = stale.indexOf(at);
        if (index >= 0) stale.splice(index, 1);
      };

      const hooks: AttemptHooks<T, A> = { ack: onAck, failed: onAttemptError };

      const cancelAttempt = (at: Attempt<T, A>): void => {
        finishAttempt(at);
        at.context.abort();
      };

      subscriber.add(() => {
        ending ??= { failed: false };
        sweep?.unsubscribe();
        sweep = undefined;
        for (let flight = flights; flight !== undefined; flight = flight.next) {
          flight.live = false;
          if (flight.started !== undefined) probe!.end(flight.started, 'cancelled');
          flight.retry?.cancel();
          flight.retry = undefined;
          if (flight.current !== undefined) cancelAttempt(flight.current);
          if (flight.stale !== undefined) for (const at of flight.stale) cancelAttempt(at);
          flight.current = undefined;
          flight.stale = undefined;
        }
        flights = undefined;
        inFlight = 0;
        probe?.dropAll();
      });

      /*
       * One message per free slot: a pull source sends only what is requested, so nothing
       * waits here; a push source goes through a BoundedStage, where messages beyond the free
       * slots wait under the overflow policy and a refused one ends the intake with
       * ChannelFullError once the waiting messages were taken.
       */
      const sink: Sink<T> = {
        next: (message) => {
          asked--;
          if (ending === undefined) start(message);
        },
        error: (error) => {
          if (ending !== undefined) return;
          ending = { failed: true, error };
          checkEnd();
        },
        complete: () => {
          if (ending !== undefined) return;
          ending = { failed: false };
          checkEnd();
        },
      };
      // A channel or an iterator is asked for one message per free slot; a push source, or a
      // working stage allowed to work up to `capacity` ahead, goes through a BoundedStage.
      const watched = probe !== undefined && !isPullable(source);
      const intake: Demand =
        isPullable<T>(source) && !wantsReadAhead(source)
          ? source[pull](sink)
          : new BoundedStage<T>(
              watched ? withArrivals(source, probe) : source,
              failOnOverflowError(watched ? probe.watchOverflow(buffer) : buffer, fail),
              sink,
              WHERE,
            );
      subscriber.add(() => intake.cancel(failure ?? subscriber.cancelledBy));
      subscriber.onCredit = topUp;
      subscriber.onStop = () => {
        // the consumer drains: take nothing new, finish what is in flight, then complete
        if (ending !== undefined) return;
        if (intake.stop !== undefined) {
          intake.stop();
          return;
        }
        intake.cancel();
        ending = { failed: false };
        checkEnd();
      };
      topUp();
      return subscriber;
    });
}

/** The buffer's config with an `onOverflow` whose exception fails the output at once. */
function failOnOverflowError<T>(
  config: BufferConfig<T>,
  fail: (error: unknown) => void,
): BufferConfig<T> {
  const onOverflow = config.onOverflow;
  if (onOverflow === undefined) return config;
  return {
    ...config,
    onOverflow: (message, policy) => {
      try {
        onOverflow(message, policy);
      } catch (error) {
        fail(error);
      }
    },
  };
}

interface BackoffConfig {
  readonly initial: number;
  readonly factor: number;
  readonly max: number;
  readonly jitter: number;
}

function backoffConfig(backoff: unknown): BackoffConfig {
  if (backoff === undefined) return { initial: 1000, factor: 2, max: 30_000, jitter: 0 };
  if (typeof backoff === 'number') {
    const delay = checkDuration(WHERE, 'backoff', backoff);
    return { initial: delay, factor: 1, max: delay, jitter: 0 };
  }
  const b = checkOptions<Backoff>(`${WHERE}: backoff`, backoff, BACKOFF_OPTIONS);
  const initial =
    b.initial === undefined ? 1000 : checkDuration(WHERE, 'backoff.initial', b.initial);
  return {
    initial,
    factor:
      b.factor === undefined
        ? 2
        : checkRange(WHERE, 'backoff.factor', b.factor, 1, Number.POSITIVE_INFINITY),
    max:
      b.max === undefined ? Math.max(30_000, initial) : checkDuration(WHERE, 'backoff.max', b.max),
    jitter: b.jitter === undefined ? 0 : checkRange(WHERE, 'backoff.jitter', b.jitter, 0, 1),
  };
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

/** Asks `retryable` about a failed attempt; anything but a boolean is a mistake, named. */
function isRetryable(
  retryable: (error: unknown, attempt: number) => boolean,
  error: unknown,
  attempt: number,
): boolean {
  const answer: unknown = retryable(error, attempt);
  if (typeof answer !== 'boolean') {
    throw new TypeError(`${WHERE}: retryable must return a boolean, got ${describe(answer)}`);
  }
  return answer;
}
