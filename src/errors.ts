/**
 * Named errors thrown or rejected by sluice. Each has a stable `name` that survives
 * minification, so `err.name === 'ChannelClosedError'` is a safe check across bundles;
 * `instanceof` works too within one copy of the library.
 *
 * An error that refuses a message carries that message back as `value`, so nothing a
 * caller handed over is lost: `catch (err) { if (err instanceof ChannelFullError) retryLater(err.value) }`.
 *
 * @module
 */

/** Options shared by sluice's errors. */
interface ValueCarrying<T> {
  readonly value: T | undefined;
}

/**
 * The channel is closed: by the receiver (`rx.close()`), by its last sender, or because a
 * producer failed it. A send rejected with this error hands its message back in `value`
 * (`undefined` when the error did not refuse a message, for example a `recv()` on a drained
 * and closed channel).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mpsc, ChannelClosedError } from 'sluice';
 * const [tx, rx] = mpsc<string>(1);
 * rx.close();
 * await assert.rejects(tx.send('late'), (err) => {
 *   assert.ok(err instanceof ChannelClosedError);
 *   assert.equal(err.value, 'late'); // the refused message comes back
 *   return true;
 * });
 * ```
 */
export class ChannelClosedError<T = unknown> extends Error implements ValueCarrying<T> {
  override readonly name = 'ChannelClosedError' as const;
  readonly value: T | undefined;
  constructor(message = 'channel is closed', value?: T) {
    super(message);
    this.value = value;
  }
}

/**
 * The channel's buffer is full and the call could not wait: a send under the `'error'`
 * overflow policy, or a synchronous `next()` under `'block'` (a push source cannot be made to
 * wait). The refused message is in `value`.
 */
export class ChannelFullError<T = unknown> extends Error implements ValueCarrying<T> {
  override readonly name = 'ChannelFullError' as const;
  readonly value: T | undefined;
  constructor(message = 'channel is full', value?: T) {
    super(message);
    this.value = value;
  }
}

/**
 * A broadcast receiver fell so far behind that messages it had not read were overwritten.
 * `skipped` is how many it missed; the receiver continues from the oldest message still
 * retained. Raised only when the receiver asked for lag to be an error (`lag: 'error'`).
 */
export class LaggedError extends Error {
  override readonly name = 'LaggedError' as const;
  readonly skipped: number;
  constructor(skipped: number) {
    super(`receiver lagged behind and skipped ${skipped} message${skipped === 1 ? '' : 's'}`);
    this.skipped = skipped;
  }
}

/**
 * A message could not be delivered within its allowed attempts and there was no dead letter
 * destination to take it. `value` is the message, `attempts` how many were made and `cause`
 * the last attempt's error (a timeout or the error the delivery raised).
 */
export class DeliveryFailedError<T = unknown> extends Error implements ValueCarrying<T> {
  override readonly name = 'DeliveryFailedError' as const;
  readonly value: T | undefined;
  readonly attempts: number;
  constructor(value: T, attempts: number, cause: unknown) {
    super(
      `delivery failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${causeText(cause)}`,
      { cause },
    );
    this.value = value;
    this.attempts = attempts;
  }
}

/**
 * A delivery attempt was not acknowledged within its `ackTimeout` and was abandoned (its
 * `signal` aborted). `atLeastOnce` retries the message after the backoff; the error is the
 * `reason` of the aborted signal, the `error` of a retry event, and the `cause` of a
 * `DeliveryFailedError` or the `error` of a dead letter when it was the last attempt's fate.
 */
export class AckTimeoutError extends Error {
  override readonly name = 'AckTimeoutError' as const;
  /** The attempt that timed out, from 1. */
  readonly attempt: number;
  /** The deadline it missed, in milliseconds from the attempt's start. */
  readonly ackTimeout: number;
  constructor(message: string, attempt: number, ackTimeout: number) {
    super(message);
    this.attempt = attempt;
    this.ackTimeout = ackTimeout;
  }
}

/**
 * A `workerPool` job ran past its `timeout` and was abandoned: its `signal` is aborted with this
 * error as the reason and its result unsubscribed. It is reported like any failed job: to
 * `onJobError` with the job, or as the error of the output.
 */
export class JobTimeoutError<T = unknown> extends Error implements ValueCarrying<T> {
  override readonly name = 'JobTimeoutError' as const;
  /** The job that timed out. */
  readonly value: T | undefined;
  /** The limit it went past, in milliseconds from the job's start. */
  readonly timeout: number;
  constructor(value: T, timeout: number) {
    super(`workerPool: job did not finish within ${timeout}ms`);
    this.value = value;
    this.timeout = timeout;
  }
}

/**
 * A receiver that serves one consumer at a time (an `mpsc` receiver, like tokio's) was asked
 * to serve a second one while the first was still active.
 */
export class ReceiverBusyError extends Error {
  override readonly name = 'ReceiverBusyError' as const;
}

/** What a cause says in one line: its name and message, or what it is. */
function causeText(cause: unknown): string {
  if (cause instanceof Error)
    return cause.message === '' ? cause.name : `${cause.name}: ${cause.message}`;
  if (typeof cause === 'string') return cause;
  if (cause === undefined) return 'no error given';
  try {
    return String(cause);
  } catch {
    return Object.prototype.toString.call(cause);
  }
}
