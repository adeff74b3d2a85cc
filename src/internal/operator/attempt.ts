import { type Observer, Subscription } from 'rxjs';
import type { DeliveryContext } from '../../deliveryRecords.js';
import { NoAckError } from '../../errors/noAckError.js';
import type { Scheduled } from '../deadlineTimer.js';
import { LazySignal } from '../deliveryInternals.js';
import type { AwaitingAck } from './ackDeadlines.js';

/** What an attempt reports to the subscription it belongs to. */
export interface AttemptHooks<T, A> {
  ack(attempt: Attempt<T, A>, ack: A): void;
  failed(attempt: Attempt<T, A>, error: unknown): void;
}

/** One message in flight, from its first attempt until it is acked or dead-lettered. */
export interface Flight<T, A> {
  readonly message: T;
  attempts: number;
  current: Attempt<T, A> | undefined;
  stale: Attempt<T, A>[] | undefined;
  retry: Scheduled | undefined;
  lastError: unknown;
  /** Instrumented: its start, for reporting its end. */
  started: object | undefined;
  /** In the list of messages in flight (an intrusive list: O(1) without hashing). */
  live: boolean;
  prev: Flight<T, A> | undefined;
  next: Flight<T, A> | undefined;
}

export class AttemptContext extends LazySignal implements DeliveryContext {
  constructor(readonly attempt: number) {
    super();
  }
}

/**
 * One attempt at delivering a message. It is the Observer of the delivery's `ObservableInput`
 * and, being a Subscription too, RxJS subscribes it directly (see `Intake`): unsubscribing it
 * stops even a synchronous delivery after its first value. One object per attempt keeps a
 * fast ack cheap; it is also its own entry in the line of ack deadlines.
 */
export class Attempt<T, A> extends Subscription implements Observer<A>, AwaitingAck<Attempt<T, A>> {
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
