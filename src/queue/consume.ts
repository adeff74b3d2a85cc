import {
  from,
  isObservable,
  map,
  Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
  TimeoutError,
} from 'rxjs';
import { LeaseLostError } from '../errors/leaseLostError.js';
import { UnsubscribedError } from '../errors/unsubscribedError.js';
import { scheduleAt as at } from '../internal/deadlineTimer.js';
import { type Demand, isPullable, PullObservable, pull, type Sink } from '../internal/demand.js';
import { checkLiveLimit } from '../internal/poolFlow.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkBoolean,
  checkCapacity,
  checkDuration,
  checkFunction,
  checkOptions,
  checkScheduler,
  checkSignal,
  describe,
} from '../internal/validate.js';
import type { Instrumentation } from '../observe/instrumentation.js';
import { type Probe, probeOption } from '../observe/probe.js';
import { workerPool } from '../operators/workerPool.js';
import { CONSUME_OPTIONS } from './optionNames.js';
import type { MaybePromise, QueueStore } from './store.js';
import type { Delivery, ReceiptRejection } from './types.js';

/** What a message handler knows besides the message. */
export interface ConsumeContext {
  /**
   * Aborted when the handler should stop: its `timeout` ran out, its lease was lost (it ran out
   * without `keepAlive`, or a `keepAlive` extension was refused), the queue's `close()` released
   * its lease after the grace period, or the consumer was unsubscribed.
   */
  readonly signal: AbortSignal;
  /** Which worker runs it: 0 to `concurrency - 1`. */
  readonly workerId: number;
}

/**
 * Handles one delivery. Success is completion: a resolved promise, a completed Observable, or
 * a synchronous return. Failure is a thrown error, a rejected promise or an errored Observable.
 * Values emitted are ignored.
 */
export type MessageHandler<T> = (
  message: Delivery<T>,
  context: ConsumeContext,
) => ObservableInput<unknown> | void;

/** Options of `consume` / `consumeQueue`. */
export interface ConsumeOptions<T> {
  /**
   * Handlers running at once (a whole number >= 1, or `Infinity`); one delivery is leased per
   * free worker. An Observable of them changes it while consuming, and its 0 pauses the
   * consumer: running handlers finish and no new one starts until a value >= 1 (a delivery
   * already asked for when it paused waits for the resume, its lease running). @default 1
   */
  readonly concurrency?: number | Observable<number>;
  /** Aborting it drains: no new deliveries, running handlers finish, then the outcomes complete. */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds a handler may run; then its signal is aborted and the message is nacked with
   * an rxjs `TimeoutError` (after `maxAttempts` of them it is a dead letter whose `lastError`
   * is that `TimeoutError`). @default 10 × the store's `visibilityTimeout` with `keepAlive` (a
   * handler that never settles must not hold its message forever); `Infinity` without it, as
   * the lease's end stops the handler anyway (see `keepAlive`)
   */
  readonly timeout?: number;
  /**
   * Keep a long handler's lease alive: every half visibility timeout the lease is extended by a
   * full one (SQS heartbeat, BullMQ lock renewal). Without it, a handler still running when its
   * lease runs out (`visibilityTimeout` after the delivery) is stopped: its signal is aborted,
   * its worker takes the next delivery, and the outcome is `'lost'` with reason `'expired'`; the
   * message is redelivered, and a message whose handler hangs `maxAttempts` times becomes a dead
   * letter with reason `'expired'`. A handler that needs longer should use `keepAlive` (a lease
   * it extends by calling `extend` itself is not seen by the consumer). The beat is at least
   * 1 ms apart, so it keeps a lease alive only with a `visibilityTimeout` of 2 ms or more; with
   * `0` or `Infinity` there is no lease to keep and it does nothing. @default false
   */
  readonly keepAlive?: boolean;
  /** Delay of the nack after a failure: milliseconds, or computed per message. @default 0 */
  readonly retryDelay?: number | ((message: Delivery<T>, error: unknown) => number);
  /** Timers (timeout, keep-alive, poll back-off). @default the queue's scheduler for `queue.consume`, else a monotonic scheduler (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
  /**
   * Long-poll wait per `receive` call, for a store that is not the in-memory queue (which is
   * pulled directly). An empty answer that came back sooner is followed by a pause of up to 1 s
   * before the next poll. @default 20000
   */
  readonly pollWait?: number;
  /**
   * Told as each delivery's handler starts and ends, with how long it ran to its settlement
   * (`poolMetrics()` counts them): `'done'` when acked, `'failed'` when nacked, `'lost'` when
   * the lease was gone, `'cancelled'` when unsubscribed. A delivery is leased only for a free
   * worker, so it starts with `waitedMs` 0: its wait is in the queue (see `stats()`).
   */
  readonly instrument?: Instrumentation<Delivery<T>>;
}

/**
 * What became of one delivery.
 * - `'acked'`: the handler succeeded and the ack was accepted.
 * - `'nacked'`: the handler failed (or timed out) and the message went back to the queue, or to
 *   the dead letters when that was its last attempt (`deadLettered`).
 * - `'lost'`: the lease was gone when the consumer tried to settle it or keep it alive (it
 *   expired, or a newer delivery exists), or `close()` released it while the handler ran
 *   (`reason: 'released'`; the handler's signal is aborted); the queue redelivers or has
 *   redelivered the message. `error` is the handler's error when it had failed.
 */
export type ConsumeOutcome<T> =
  | { readonly status: 'acked'; readonly message: Delivery<T> }
  | {
      readonly status: 'nacked';
      readonly message: Delivery<T>;
      readonly error: unknown;
      readonly deadLettered: boolean;
    }
  | {
      readonly status: 'lost';
      readonly message: Delivery<T>;
      readonly reason: ReceiptRejection;
      readonly error?: unknown;
    };

interface Settings<T> {
  readonly timeout: number;
  readonly keepAlive: boolean;
  readonly retryDelay: (message: Delivery<T>, error: unknown) => number;
  readonly scheduler: SchedulerLike;
  readonly probe: Probe<Delivery<T>> | undefined;
  readonly pollWait: number;
}

function isPromiseLike<R>(value: MaybePromise<R>): value is PromiseLike<R> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<R>).then === 'function'
  );
}

/** Calls `onValue` now for a plain value, or when a promise settles. */
function whenDone<R>(
  value: MaybePromise<R>,
  onValue: (result: R) => void,
  onError: (error: unknown) => void,
): void {
  if (isPromiseLike(value)) value.then(onValue, onError);
  else onValue(value);
}

/**
 * Runs a worker pool over a queue store: leases one delivery per free worker, runs `handler` on
 * it, acks on success, nacks on error or timeout, and emits the outcome of each delivery. This
 * is `queue.consume(handler)` for any `QueueStore`, including an asynchronous one; the in-memory
 * `MessageQueue` is pulled directly (no polling), any other store by `receive` long polls.
 *
 * ```text
 * queue:      a b c                     concurrency 2
 * handlers:   [a--ok] [c-ok]
 *               [b---throws]
 * outcomes:   ---acked(a)--nacked(b)-acked(c)
 * ```
 *
 * **Backpressure.** A delivery is leased only when a worker is free (the demand protocol into
 * `workerPool`), so at most `concurrency` messages are in flight for this consumer; the rest
 * stay visible to other consumers. Outcomes are emitted as handlers finish, never buffered.
 *
 * **Errors.** A handler's failure is an outcome (`'nacked'`), never an error of the stream; a
 * refused ack or nack is an outcome too (`'lost'`). The stream errors only when the store itself
 * fails (a rejected or thrown store call) or `retryDelay` throws. When settling a delivery
 * fails (`ack`, `nack`, `extend`, `retryDelay`), the other running handlers are aborted and
 * their deliveries released; when leasing fails (`receive`), the handlers already running finish
 * and are settled first. A delivery is settled once its handler's subscription is torn down
 * (its `finalize` has run), and a worker takes the next delivery only after that.
 *
 * **A handler that never settles** cannot hold a worker or a message forever: without
 * `keepAlive` it is stopped when its lease runs out (outcome `'lost'`, reason `'expired'`),
 * with `keepAlive` when its `timeout` (default 10 leases) runs out (outcome `'nacked'`); either
 * way the worker moves on, and after `maxAttempts` such deliveries the message is a dead letter.
 *
 * **Cancellation.** Aborting `signal` drains: no new deliveries, running handlers finish and
 * are settled, then the stream completes. `close()` on the queue drains the same way.
 * Unsubscribing stops at once: each running handler's signal is aborted and its delivery is
 * released back to the queue without counting an attempt (if the store fails to release, the
 * lease simply runs out: nothing is lost).
 *
 * @param store The queue to consume: a `MessageQueue` or another `QueueStore`.
 * @param handler Handles one delivery (see `MessageHandler`).
 * @param options `concurrency`, `signal`, `timeout`, `keepAlive`, `retryDelay`, `scheduler`, `pollWait`.
 * @returns A cold Observable of outcomes; each subscription is one consumer.
 * @throws TypeError or RangeError for a bad argument, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { consumeQueue, MessageQueue } from 'sluice';
 *
 * const queue = new MessageQueue<number>({ maxAttempts: 1 });
 * for (const n of [1, 2, 3]) queue.enqueue(n);
 * const drain = new AbortController();
 * const outcomes = lastValueFrom(
 *   consumeQueue(queue, async (message) => {
 *     if (message.payload === 2) throw new Error('bad input');
 *     if (message.payload === 3) drain.abort(); // stop after this one
 *   }, { signal: drain.signal }).pipe(toArray()),
 * );
 * const statuses = (await outcomes).map((o) => `${o.message.payload}:${o.status}`);
 * assert.deepEqual(statuses, ['1:acked', '2:nacked', '3:acked']);
 * assert.equal(queue.deadLetters()[0]?.payload, 2);
 * await queue.close();
 * ```
 */
export function consumeQueue<T>(
  store: QueueStore<T>,
  handler: MessageHandler<T>,
  options?: ConsumeOptions<T>,
): Observable<ConsumeOutcome<T>> {
  const where = 'consumeQueue';
  if (store === null || typeof store !== 'object' || typeof store.ack !== 'function') {
    throw new TypeError(`${where}: store must be a QueueStore, got ${describe(store)}`);
  }
  checkFunction(where, 'handler', handler);
  const opts = checkOptions<ConsumeOptions<T>>(where, options, CONSUME_OPTIONS);
  const concurrency = consumeConcurrency(where, opts.concurrency);
  const signal = checkSignal(where, opts.signal);
  const keepAlive =
    opts.keepAlive === undefined ? false : checkBoolean(where, 'keepAlive', opts.keepAlive);
  const timeout =
    opts.timeout === undefined
      ? defaultTimeout(keepAlive, store.visibilityTimeout)
      : checkDuration(where, 'timeout', opts.timeout, true);
  let retryDelay: (message: Delivery<T>, error: unknown) => number;
  if (typeof opts.retryDelay === 'function') retryDelay = opts.retryDelay;
  else {
    const fixed =
      opts.retryDelay === undefined ? 0 : checkDuration(where, 'retryDelay', opts.retryDelay);
    retryDelay = () => fixed;
  }
  const scheduler = checkScheduler<SchedulerLike>(where, opts.scheduler) ?? monotonicScheduler;
  const pollWait =
    opts.pollWait === undefined ? 20_000 : checkDuration(where, 'pollWait', opts.pollWait, true);
  const probe = probeOption<Delivery<T>>(where, opts.instrument, scheduler);
  const settings: Settings<T> = { timeout, keepAlive, retryDelay, scheduler, pollWait, probe };

  const source = isPullable<Delivery<T>>(store)
    ? new PullObservable<Delivery<T>>((sink) => store[pull](sink))
    : new PullObservable<Delivery<T>>((sink) => pollStore(store, sink, settings));
  return source.pipe(
    workerPool<Delivery<T>, ConsumeOutcome<T>>(
      (message, context) => handle(store, handler, message, context.workerId, settings),
      { concurrency, signal },
    ),
  );
}

/** What each outcome counts as, for `instrument`. */
const JOB_OUTCOME = { acked: 'done', nacked: 'failed', lost: 'lost' } as const;
/** A fixed `concurrency`, checked; an Observable one, checked value by value (0 pauses). */
function consumeConcurrency(where: string, value: unknown): number | Observable<number> {
  if (value === undefined) return 1;
  if (isObservable(value)) return value.pipe(map((limit) => checkLiveLimit(where, limit)));
  return checkCapacity(where, 'concurrency', value);
}

/** With `keepAlive`, a handler's default `timeout` is this many visibility timeouts. */
const KEEP_ALIVE_TIMEOUT_LEASES = 10;

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

/** Why a handler was stopped when its lease ran out (the handler's `signal.reason`). */
function leaseLost(message: Delivery<unknown>, lease: number): Error {
  return new LeaseLostError(message.id, 'expired', lease);
}

const RUNNING = 0;
const SETTLING = 1;
const DONE = 2;

/** One delivery through its handler, to an outcome. Unsubscribing releases an unsettled lease. */
function handle<T>(
  store: QueueStore<T>,
  handler: MessageHandler<T>,
  message: Delivery<T>,
  workerId: number,
  settings: Settings<T>,
): Observable<ConsumeOutcome<T>> {
  return new Observable<ConsumeOutcome<T>>((out) => {
    let phase = RUNNING;
    const controller = new AbortController();
    let handlerSub: Subscription | undefined;
    let heartbeat: { cancel(): void } | undefined;
    let deadline: { cancel(): void } | undefined;
    let unwatch: (() => void) | undefined;
    const { scheduler, probe } = settings;
    const started = probe?.start(message, workerId);

    const stopTimers = () => {
      heartbeat?.cancel();
      deadline?.cancel();
      unwatch?.();
      unwatch = undefined;
    };
    const stopHandler = (reason: unknown) => {
      handlerSub?.unsubscribe();
      controller.abort(reason);
    };
    const finish = (outcome: ConsumeOutcome<T>) => {
      phase = DONE;
      if (started !== undefined) probe!.end(started, JOB_OUTCOME[outcome.status]);
      out.next(outcome);
      out.complete();
    };
    const fail = (error: unknown) => {
      phase = DONE;
      if (started !== undefined) probe!.end(started, 'failed');
      stopTimers();
      stopHandler(error);
      out.error(error);
    };
    /** Calls the store; a thrown or rejected call fails the consumer. */
    const call = <R>(request: () => MaybePromise<R>, onValue: (result: R) => void) => {
      let value: MaybePromise<R>;
      try {
        value = request();
      } catch (error) {
        fail(error);
        return;
      }
      whenDone(value, onValue, (error) => {
        if (phase !== DONE) fail(error);
      });
    };

    const settle = (failed: boolean, error: unknown) => {
      if (phase !== RUNNING) return;
      phase = SETTLING;
      stopTimers();
      if (!failed) {
        call(
          () => store.ack(message.receipt),
          (r) =>
            finish(
              r.ok ? { status: 'acked', message } : { status: 'lost', message, reason: r.reason },
            ),
        );
        return;
      }
      let delay: number;
      try {
        delay = settings.retryDelay(message, error);
      } catch (callbackError) {
        fail(callbackError);
        return;
      }
      call(
        () => store.nack(message.receipt, { delay, error }),
        (r) =>
          finish(
            r.ok
              ? { status: 'nacked', message, error, deadLettered: r.deadLettered }
              : { status: 'lost', message, reason: r.reason, error },
          ),
      );
    };

    const lease = store.visibilityTimeout;
    if (settings.keepAlive && lease > 0 && lease !== Number.POSITIVE_INFINITY) {
      const every = Math.max(1, Math.floor(lease / 2));
      const beat = () => {
        heartbeat = at(scheduler, scheduler.now() + every, () => {
          if (phase !== RUNNING) return;
          call(
            () => store.extend(message.receipt, lease),
            (r) => {
              if (phase !== RUNNING) return;
              if (r.ok) {
                beat();
                return;
              }
              phase = DONE;
              stopTimers();
              stopHandler(new LeaseLostError(message.id, r.reason));
              finish({ status: 'lost', message, reason: r.reason });
            },
          );
        });
      };
      beat();
    } else if (lease > 0 && lease !== Number.POSITIVE_INFINITY) {
      // Nothing keeps the lease: when it runs out the message is another consumer's, so this
      // handler is stopped and its worker freed (a hung handler cannot hold a worker forever).
      heartbeat = at(scheduler, scheduler.now() + lease, () => {
        if (phase !== RUNNING) return;
        phase = DONE;
        stopTimers();
        stopHandler(leaseLost(message, lease));
        finish({ status: 'lost', message, reason: 'expired' });
      });
    }
    if (settings.timeout !== Number.POSITIVE_INFINITY) {
      deadline = at(scheduler, scheduler.now() + settings.timeout, () => {
        if (phase !== RUNNING) return;
        const error = new TimeoutError();
        stopHandler(error);
        settle(true, error);
      });
    }

    if (store.watchRelease !== undefined) {
      // Shutdown took the lease away (close() after its grace): the message may go to another
      // consumer now, so this handler must stop, and its outcome says why.
      unwatch = store.watchRelease(message.receipt, () => {
        if (phase !== RUNNING) return;
        phase = DONE;
        stopTimers();
        stopHandler(new LeaseLostError(message.id, 'released'));
        finish({ status: 'lost', message, reason: 'released' });
      });
    }

    let input: ObservableInput<unknown> | undefined;
    try {
      input = handler(message, { signal: controller.signal, workerId }) ?? undefined;
    } catch (error) {
      settle(true, error);
    }
    if (phase === RUNNING) {
      if (input === undefined) settle(false, undefined);
      else {
        // settled once the handler's subscription is torn down (its `finalize` has run)
        let ended: { failed: boolean; error: unknown } | undefined;
        try {
          handlerSub = from(input).subscribe({
            error: (error: unknown) => {
              ended = { failed: true, error };
            },
            complete: () => {
              ended = { failed: false, error: undefined };
            },
          });
          handlerSub.add(() => {
            if (ended !== undefined) settle(ended.failed, ended.error);
          });
        } catch (error) {
          settle(true, error);
        }
      }
    }

    return () => {
      if (started !== undefined) probe!.end(started, 'cancelled');
      stopTimers();
      handlerSub?.unsubscribe();
      if (phase !== RUNNING) return;
      phase = DONE;
      controller.abort(new UnsubscribedError('consume'));
      // Give the lease back without counting the attempt. If the store fails to, the lease
      // runs out on its own and the message is redelivered: nothing is lost.
      try {
        const released = store.release(message.receipt);
        if (isPromiseLike(released)) released.then(undefined, () => {});
      } catch {
        // as above
      }
    };
  });
}

/**
 * A pull source over any store's `receive`: while there is demand, one long poll at a time,
 * asking for as many deliveries as are wanted. Deliveries that arrive after the consumer
 * cancelled (or beyond its demand) are released, not dropped.
 */
function pollStore<T>(
  store: QueueStore<T>,
  sink: Sink<Delivery<T>>,
  settings: Settings<T>,
): Demand {
  const { scheduler, pollWait } = settings;
  let demand = 0;
  let done = false;
  let polling = false;
  let controller: AbortController | undefined;
  let pause: Subscription | undefined;
  let looping = false;
  let again = false;

  const end = (signalEnd: () => void) => {
    if (done) return;
    done = true;
    pause?.unsubscribe();
    controller?.abort();
    signalEnd();
  };
  const giveBack = (delivery: Delivery<T>) => {
    try {
      const released = store.release(delivery.receipt);
      if (isPromiseLike(released)) released.then(undefined, () => {});
    } catch {
      // the lease runs out on its own: nothing is lost
    }
  };
  const onBatch = (batch: readonly Delivery<T>[], started: number) => {
    polling = false;
    for (const delivery of batch) {
      if (!done && demand > 0) {
        demand--;
        sink.next(delivery);
      } else giveBack(delivery);
    }
    if (done) return;
    if (batch.length === 0) {
      if (store.isClosed) {
        end(() => sink.complete());
        return;
      }
      const elapsed = scheduler.now() - started;
      const wait = elapsed >= pollWait ? 0 : Math.min(pollWait - elapsed, 1000);
      pause = scheduler.schedule(() => {
        pause = undefined;
        poll();
      }, wait);
      return;
    }
    poll();
  };
  const step = () => {
    if (done || polling || demand <= 0 || pause !== undefined) return;
    if (store.isClosed) {
      end(() => sink.complete());
      return;
    }
    polling = true;
    const ac = new AbortController();
    controller = ac;
    const started = scheduler.now();
    let result: MaybePromise<readonly Delivery<T>[]>;
    try {
      result = store.receive({ max: demand, wait: pollWait, signal: ac.signal });
    } catch (error) {
      polling = false;
      end(() => sink.error(error));
      return;
    }
    whenDone(
      result,
      (batch) => onBatch(batch, started),
      (error) => {
        polling = false;
        if (!done) end(() => sink.error(error));
      },
    );
  };
  /** Loops instead of recursing when a synchronous store answers inside `receive`. */
  const poll = () => {
    if (looping) {
      again = true;
      return;
    }
    looping = true;
    try {
      do {
        again = false;
        step();
      } while (again);
    } finally {
      looping = false;
    }
  };
  return {
    request: (n: number) => {
      if (done) return;
      demand += n;
      poll();
    },
    cancel: () => {
      if (done) return;
      done = true;
      pause?.unsubscribe();
      controller?.abort();
    },
  };
}
