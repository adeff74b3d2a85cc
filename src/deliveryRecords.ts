/**
 * The records `atLeastOnce` hands out and takes: what `deliver` is told, what the output emits,
 * what `deadLetter`, `onRetry` and `onStaleAck` receive. They live in the vocabulary (the
 * operator re-exports them) because the delivery engine in `internal/` builds them too.
 */

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
