import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import type { Instrumentation } from '../observe/instrumentation.js';
import type { Backoff } from '../operators/atLeastOnce.js';
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
  /**
   * Aborting it drains: no new deliveries, running handlers finish and are settled, then the
   * outcomes complete. (To stop at once instead, unsubscribe.)
   */
  readonly drain?: AbortSignal;
  /**
   * @deprecated Use `drain`: `signal` means "abort this call" everywhere else in sluice. Still
   * accepted with the same meaning; passing both is a `TypeError`.
   */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds a handler may run; then its signal is aborted and the message is nacked with
   * a `HandlerTimeoutError` (after `maxAttempts` of them it is a dead letter whose `lastError`
   * is that error). @default 10 × the store's `visibilityTimeout` with `keepAlive` (a
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
  /**
   * How long a failed message stays invisible before it is tried again (the delay of its nack):
   * milliseconds, a `Backoff` (exponential in the delivery's `attempt`, as `atLeastOnce`'s;
   * its jitter uses `Math.random`), or computed per message. @default 0
   */
  readonly backoff?: number | Backoff | ((message: Delivery<T>, error: unknown) => number);
  /**
   * @deprecated Use `backoff`, which takes the same numbers and functions. Still accepted;
   * passing both is a `TypeError`.
   */
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
