import { from, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';
import type {
  DeadLetter,
  Delivered,
  DeliveryContext,
  RetryEvent,
  StaleAck,
} from '../../deliveryRecords.js';
import { AckTimeoutError, DeliveryFailedError } from '../../errors.js';
import { BoundedStage } from '../boundedStage.js';
import { scheduleAt } from '../deadlineTimer.js';
import { type Demand, isPullable, pull, wantsReadAhead } from '../demand.js';
import type { Outlet } from '../outlet.js';
import type { BufferConfig } from '../policyBuffer.js';
import { hideLink, restoreLink } from '../roomLink.js';
import { describe } from '../validate.js';
import { AckDeadlines } from './ackDeadlines.js';
import { Attempt, AttemptContext, type AttemptHooks, type Flight } from './attempt.js';
import { OperatorStage } from './operatorStage.js';
import type { StageProbe } from './stageProbe.js';

/** `atLeastOnce`'s validated options, as one subscription uses them. */
export interface DeliverySettings<T, A> {
  readonly where: string;
  readonly deliver: (message: T, context: DeliveryContext) => ObservableInput<A>;
  readonly ackTimeout: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
  /** The delay before the next attempt after `failed` failed attempts; may throw. */
  readonly retryDelay: (failed: number) => number;
  readonly deadLetter: ((record: DeadLetter<T>) => void) | undefined;
  readonly retryable: ((error: unknown, attempt: number) => boolean) | undefined;
  readonly onRetry: ((event: RetryEvent<T>) => void) | undefined;
  readonly onStaleAck: ((event: StaleAck<T, A>) => void) | undefined;
  readonly scheduler: SchedulerLike;
}

/** Where the messages come from: the source, and for a push source its buffer. */
export interface DeliveryIntake<T> {
  readonly source: Observable<T>;
  /** The source as subscribed when it is pushed (instrumented arrivals), and its buffer. */
  readonly pushed: Observable<T>;
  readonly buffer: BufferConfig<T>;
}

/**
 * One subscription to `atLeastOnce`: the messages in flight, their attempts, retries and ack
 * deadlines. Built on `OperatorStage` (the ending waits for every message in flight; callbacks
 * are guarded) and `AckDeadlines` (one timer for every attempt awaiting its ack).
 */
export class DeliveryStage<T, A>
  extends OperatorStage<T, Delivered<T, A>>
  implements AttemptHooks<T, A>
{
  /** Messages in flight, newest first, and how many. */
  private flights: Flight<T, A> | undefined;
  private inFlight = 0;
  /** Messages requested from the intake and not yet received. */
  private asked = 0;
  private readonly deadlines: AckDeadlines<Attempt<T, A>>;
  private readonly intake: Demand;

  constructor(
    out: Outlet<Delivered<T, A>>,
    private readonly settings: DeliverySettings<T, A>,
    input: DeliveryIntake<T>,
    private readonly probe: StageProbe<T> | undefined,
  ) {
    super(out);
    this.deadlines = new AckDeadlines(settings.scheduler, this.expired, () => out.closed);
    out.add(() => this.teardown());
    // A channel or an iterator is asked for one message per free slot, so nothing waits here;
    // a push source, or a working stage allowed to work up to `capacity` ahead, goes through a
    // BoundedStage, where messages beyond the free slots wait under the overflow policy and a
    // refused one ends the intake with ChannelFullError once the waiting messages were taken.
    const source = input.source;
    this.intake =
      isPullable<T>(source) && !wantsReadAhead(source)
        ? source[pull](this)
        : new BoundedStage<T>(
            input.pushed,
            failOnOverflowError(input.buffer, (error) => this.fail(error)),
            this,
            settings.where,
          );
    out.add(() => this.intake.cancel(this.failure ?? out.cancelledBy));
    out.onCredit = () => this.topUp();
    out.onStop = () => this.stop();
    this.topUp();
  }

  protected busy(): boolean {
    return this.inFlight > 0;
  }

  override next(message: T): void {
    this.asked--;
    if (this.ending === undefined) this.accept(message);
  }

  protected accept(message: T): void {
    const flight: Flight<T, A> = {
      message,
      attempts: 0,
      current: undefined,
      stale: undefined,
      retry: undefined,
      lastError: undefined,
      started: this.probe?.start(message, undefined),
      live: true,
      prev: undefined,
      next: this.flights,
    };
    if (this.flights !== undefined) this.flights.prev = flight;
    this.flights = flight;
    this.inFlight++;
    this.attempt(flight);
  }

  /** The consumer drains: take nothing new, finish what is in flight, then complete. */
  private stop(): void {
    if (this.ending !== undefined) return;
    if (this.intake.stop !== undefined) {
      this.intake.stop();
      return;
    }
    this.intake.cancel();
    this.complete();
  }

  /**
   * Asks for as many messages as there are free slots, as far as the output has room: a
   * message is taken only when its acknowledgement has somewhere to go. A pull source sends
   * them when it has them; the push source's stage hands over waiting messages at once.
   */
  private topUp(): void {
    if (this.out.closed || this.ending !== undefined) return;
    const want = Math.min(this.out.credit, this.settings.concurrency) - this.inFlight - this.asked;
    if (want > 0) {
      this.asked += want;
      this.intake.request(want);
    }
  }

  /** A slot freed: take more, or end if nothing more will come. */
  private release(): void {
    if (this.out.closed) return;
    this.topUp();
    this.checkEnd();
  }

  private attempt(flight: Flight<T, A>): void {
    flight.retry = undefined;
    const n = ++flight.attempts;
    const at = new Attempt<T, A>(flight, n, new AttemptContext(n), this);
    flight.current = at;
    let input: ObservableInput<A>;
    const link = hideLink(); // the delivery's own sources must not see a link meant for us
    try {
      input = this.settings.deliver(flight.message, at.context);
    } catch (error) {
      restoreLink(link);
      this.abandon(at, error, 'error');
      return;
    }
    try {
      from(input).subscribe(at);
    } catch (error) {
      // from() refuses something that is not an ObservableInput.
      this.failed(at, error);
      at.unsubscribe();
      return;
    } finally {
      restoreLink(link);
    }
    const { ackTimeout, scheduler } = this.settings;
    if (at.state === 'current' && ackTimeout !== Number.POSITIVE_INFINITY && !this.out.closed) {
      // Read the clock only now: a synchronous ack (the common fast case) never needs it.
      at.deadline = scheduler.now() + ackTimeout;
      this.deadlines.add(at);
    }
  }

  private readonly expired = (at: Attempt<T, A>): void => {
    if (at.state !== 'current') return;
    const { where, ackTimeout } = this.settings;
    this.abandon(
      at,
      new AckTimeoutError(
        `${where}: no ack within ${ackTimeout}ms (attempt ${at.n})`,
        at.n,
        ackTimeout,
      ),
      'timeout',
    );
  };

  /** An attempt's first value. */
  ack(at: Attempt<T, A>, ack: A): void {
    const flight = at.flight;
    if (at.state === 'stale') {
      this.finishAttempt(at);
      removeStale(flight, at);
      const onStaleAck = this.settings.onStaleAck;
      if (onStaleAck !== undefined) {
        this.guard(() => onStaleAck({ message: flight.message, attempt: at.n, ack }));
      }
      return;
    }
    if (at.state !== 'current') return;
    this.finishAttempt(at);
    this.settle(flight);
    if (flight.started !== undefined) this.probe?.end(flight.started, 'done');
    this.out.next({ message: flight.message, ack, attempts: at.n });
    this.release();
  }

  /** An attempt's error (or completion without an ack). */
  failed(at: Attempt<T, A>, error: unknown): void {
    if (at.state === 'stale') {
      at.state = 'over';
      removeStale(at.flight, at);
    } else if (at.state === 'current') {
      this.abandon(at, error, 'error');
    }
  }

  /** Gives up on the current attempt; retries the message or dead-letters it. */
  private abandon(at: Attempt<T, A>, error: unknown, reason: 'timeout' | 'error'): void {
    const flight = at.flight;
    this.deadlines.remove(at);
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
    if (this.out.closed || !flight.live) return;
    if (flight.attempts >= this.settings.maxAttempts) {
      this.exhausted(flight);
      return;
    }
    const { retryable, retryDelay, onRetry, scheduler } = this.settings;
    let delay = 0;
    let retry = true;
    const ok = this.guard(() => {
      if (retryable !== undefined && !isRetryable(this.settings.where, retryable, error, at.n)) {
        retry = false;
        return;
      }
      delay = retryDelay(flight.attempts);
      onRetry?.({ message: flight.message, attempt: at.n, reason, error, delay });
    });
    if (!ok) return;
    if (!retry) {
      this.exhausted(flight);
      return;
    }
    if (this.out.closed) return;
    flight.retry = scheduleAt(scheduler, scheduler.now() + delay, () => {
      flight.retry = undefined;
      this.attempt(flight);
    });
  }

  private exhausted(flight: Flight<T, A>): void {
    this.settle(flight);
    if (flight.started !== undefined) this.probe?.end(flight.started, 'failed');
    const deadLetter = this.settings.deadLetter;
    if (deadLetter === undefined) {
      this.fail(new DeliveryFailedError(flight.message, flight.attempts, flight.lastError));
      return;
    }
    const record = { message: flight.message, attempts: flight.attempts, error: flight.lastError };
    if (this.guard(() => deadLetter(record))) this.release();
  }

  /** The message is done with (acked or dead-lettered): forget it and its stale attempts. */
  private settle(flight: Flight<T, A>): void {
    if (flight.live) {
      flight.live = false;
      if (flight.prev !== undefined) flight.prev.next = flight.next;
      else this.flights = flight.next;
      if (flight.next !== undefined) flight.next.prev = flight.prev;
      flight.prev = flight.next = undefined;
      this.inFlight--;
    }
    flight.current = undefined;
    flight.retry?.cancel();
    flight.retry = undefined;
    const stale = flight.stale;
    flight.stale = undefined;
    if (stale !== undefined) for (const at of stale) this.finishAttempt(at);
  }

  private finishAttempt(at: Attempt<T, A>): void {
    at.state = 'over';
    this.deadlines.remove(at);
    at.unsubscribe();
  }

  private cancelAttempt(at: Attempt<T, A>): void {
    this.finishAttempt(at);
    at.context.abort();
  }

  private teardown(): void {
    this.ending ??= { failed: false };
    this.deadlines.cancel();
    for (let flight = this.flights; flight !== undefined; flight = flight.next) {
      flight.live = false;
      if (flight.started !== undefined) this.probe?.end(flight.started, 'cancelled');
      flight.retry?.cancel();
      flight.retry = undefined;
      if (flight.current !== undefined) this.cancelAttempt(flight.current);
      if (flight.stale !== undefined) for (const at of flight.stale) this.cancelAttempt(at);
      flight.current = undefined;
      flight.stale = undefined;
    }
    this.flights = undefined;
    this.inFlight = 0;
    this.probe?.dropAll();
  }
}

function removeStale<T, A>(flight: Flight<T, A>, at: Attempt<T, A>): void {
  const stale = flight.stale;
  if (stale === undefined) return;
  const index = stale.indexOf(at);
  if (index >= 0) stale.splice(index, 1);
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

/** Asks `retryable` about a failed attempt; anything but a boolean is a mistake, named. */
function isRetryable(
  where: string,
  retryable: (error: unknown, attempt: number) => boolean,
  error: unknown,
  attempt: number,
): boolean {
  const answer: unknown = retryable(error, attempt);
  if (typeof answer !== 'boolean') {
    throw new TypeError(`${where}: retryable must return a boolean, got ${describe(answer)}`);
  }
  return answer;
}
