/**
 * Test support for sluice's demand protocol, seen from outside: a source and a consumer that
 * speak it and log every step, and a meter of how far a producer runs ahead of the end of a
 * pipeline.
 *
 * The protocol (docs/architecture.md): a demand-aware source carries a method under the
 * registered symbol `Symbol.for('sluice.pull')`,
 * `source[pull](sink) -> { request(n), cancel() }` with `sink = { next, error, complete }`;
 * nothing reaches the sink beyond what was requested, values may arrive synchronously inside
 * `request`, and a plain `subscribe()` is unlimited demand. These helpers look the symbol up by
 * its registered name instead of importing it, so they also check that two loaded copies of the
 * library (ESM and CJS) would agree on it.
 */
import { Observable, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/** A subscription's start and end frames, as RxJS's TestScheduler logs them. */
export interface SubscriptionLog {
  subscribedFrame: number;
  unsubscribedFrame: number;
}

/** The registered key of the demand protocol. */
export const pullKey: unique symbol = Symbol.for('sluice.pull') as never;

export interface Demand {
  request(n: number): void;
  cancel(): void;
}

export interface Sink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

type PullFn<T> = (sink: Sink<T>) => Demand;

/** Whether `source` carries the demand protocol under the registered symbol. */
export function isDemandAware(source: unknown): boolean {
  return (
    source !== null &&
    (typeof source === 'object' || typeof source === 'function') &&
    typeof (source as Record<symbol, unknown>)[pullKey] === 'function'
  );
}

/** One call to `request(n)`, at the scheduler's time. */
export interface RequestRecord {
  readonly frame: number;
  readonly n: number;
}

/**
 * A demand-aware source of `values` that logs what is asked of it: every `request(n)` with the
 * frame it came at, every value handed out, every (pull or plain) subscription with its
 * subscribe and unsubscribe frames in RxJS's `SubscriptionLog` shape, so specs can compare it
 * with `TestScheduler.parseMarblesAsSubscriptions('^---!')`.
 */
export class LoggingSource<T> extends Observable<T> {
  /** Every `request(n)`, in order; a plain `subscribe()` logs `n: Infinity`. */
  readonly requests: RequestRecord[] = [];
  /** Every value handed to a sink, with its frame. */
  readonly emitted: { readonly frame: number; readonly value: T }[] = [];
  /** One entry per subscription (pull or plain). */
  readonly subscriptions: SubscriptionLog[] = [];
  /** Called after each value is handed out (for meters that check a bound at every step). */
  onEmit: ((value: T) => void) | undefined = undefined;
  private readonly items: T[];
  private next = 0;

  constructor(
    values: Iterable<T>,
    private readonly scheduler: SchedulerLike,
    /** When set, the source never completes after its last value (like a quiet channel). */
    private readonly endless = false,
  ) {
    super((subscriber) => {
      const demand = this.open(subscriber);
      demand.request(Number.POSITIVE_INFINITY);
      return () => demand.cancel();
    });
    this.items = [...values];
    (this as unknown as Record<symbol, PullFn<T>>)[pullKey] = (sink) => this.open(sink);
  }

  /** Values not handed out yet. */
  get remaining(): number {
    return this.items.length - this.next;
  }

  /** Total requested so far, over every subscription (Infinity after a plain subscribe). */
  get requested(): number {
    return this.requests.reduce((sum, r) => sum + r.n, 0);
  }

  /** Total requested by the end of each frame from 0 to `last`, for demand-over-time checks. */
  requestedBy(last: number): number[] {
    const out: number[] = [];
    let sum = 0;
    let i = 0;
    for (let frame = 0; frame <= last; frame++) {
      while (i < this.requests.length && this.requests[i]!.frame <= frame)
        sum += this.requests[i++]!.n;
      out.push(sum);
    }
    return out;
  }

  private open(sink: Sink<T>): Demand {
    const log: SubscriptionLog = {
      subscribedFrame: this.scheduler.now(),
      unsubscribedFrame: Number.POSITIVE_INFINITY,
    };
    this.subscriptions.push(log);
    let demand = 0;
    let draining = false;
    let done = false;
    const end = () => {
      done = true;
      if (log.unsubscribedFrame === Number.POSITIVE_INFINITY) {
        log.unsubscribedFrame = this.scheduler.now();
      }
    };
    const drain = () => {
      if (draining) return; // re-entrant request: the running loop sees the new demand
      draining = true;
      try {
        while (!done && demand > 0 && this.next < this.items.length) {
          demand--;
          const value = this.items[this.next++]!;
          this.emitted.push({ frame: this.scheduler.now(), value });
          this.onEmit?.(value);
          sink.next(value);
        }
        if (!done && !this.endless && this.next >= this.items.length) {
          end();
          sink.complete();
        }
      } finally {
        draining = false;
      }
    };
    return {
      request: (n) => {
        if (!(n > 0)) throw new RangeError(`LoggingSource: request(n) needs n > 0, got ${n}`);
        if (done) return;
        this.requests.push({ frame: this.scheduler.now(), n });
        demand += n;
        drain();
      },
      cancel: () => {
        if (!done) end();
      },
    };
  }
}

/** What a `LoggingConsumer` saw. */
export type ConsumerEvent<T> =
  | { readonly frame: number; readonly kind: 'next'; readonly value: T }
  | { readonly frame: number; readonly kind: 'error'; readonly error: unknown }
  | { readonly frame: number; readonly kind: 'complete' };

/**
 * A demand-aware consumer driven by the test: it opens a pull subscription on `source` (which
 * must carry the registered symbol) with no demand and asks for more only when the test calls
 * `request(n)`. Everything it receives is logged with its frame.
 */
export class LoggingConsumer<T> {
  readonly events: ConsumerEvent<T>[] = [];
  /** Every `request(n)` this consumer made. */
  readonly requests: RequestRecord[] = [];
  private readonly demand: Demand;

  constructor(
    source: Observable<T>,
    private readonly scheduler: SchedulerLike,
  ) {
    if (!isDemandAware(source)) {
      throw new TypeError(
        'LoggingConsumer: the source carries no Symbol.for("sluice.pull") method, so it is not demand-aware',
      );
    }
    const pullFn = (source as unknown as Record<symbol, PullFn<T>>)[pullKey]!;
    this.demand = pullFn.call(source, {
      next: (value) => this.events.push({ frame: this.scheduler.now(), kind: 'next', value }),
      error: (error) => this.events.push({ frame: this.scheduler.now(), kind: 'error', error }),
      complete: () => this.events.push({ frame: this.scheduler.now(), kind: 'complete' }),
    });
  }

  request(n: number): void {
    this.requests.push({ frame: this.scheduler.now(), n });
    this.demand.request(n);
  }

  cancel(): void {
    this.demand.cancel();
  }

  /** The values received so far. */
  get values(): T[] {
    return this.events.flatMap((e) => (e.kind === 'next' ? [e.value] : []));
  }

  /** Total requested so far. */
  get requested(): number {
    return this.requests.reduce((sum, r) => sum + r.n, 0);
  }

  get completed(): boolean {
    return this.events.some((e) => e.kind === 'complete');
  }

  get error(): unknown {
    const failed = this.events.find((e) => e.kind === 'error');
    return failed?.kind === 'error' ? failed.error : undefined;
  }
}

/**
 * Counts how far a producer is ahead of the end of a pipeline: messages that entered it (pulled
 * from the source, or accepted by a channel) minus messages that left it (reached the final
 * consumer, were filtered by an operator, reported to `onOverflow`, or dead-lettered). Call
 * `check()` at every step; `max` keeps the worst seen, `violation` the first step beyond `bound`.
 */
export class AheadMeter {
  entered = 0;
  left = 0;
  max = 0;
  violation: string | undefined = undefined;

  constructor(readonly bound: number) {}

  get ahead(): number {
    return this.entered - this.left;
  }

  enter(n = 1): void {
    this.entered += n;
    this.check('enter');
  }

  leave(n = 1): void {
    this.left += n;
    this.check('leave');
  }

  check(step: string): void {
    const ahead = this.ahead;
    if (ahead > this.max) this.max = ahead;
    if (this.violation === undefined && ahead > this.bound) {
      this.violation = `after ${step}: ${ahead} messages in the pipeline, bound ${this.bound} (entered ${this.entered}, left ${this.left})`;
    }
  }
}

/** The expected subscription log for a marble like `'^---!'`, for comparison with a `LoggingSource`'s. */
export function subscriptionLog(marbles: string): SubscriptionLog {
  const { subscribedFrame, unsubscribedFrame } = TestScheduler.parseMarblesAsSubscriptions(marbles);
  return { subscribedFrame, unsubscribedFrame };
}
