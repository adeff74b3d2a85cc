import { from, Observable, type ObservableInput, type Subscriber, type Subscription } from 'rxjs';
import { HandlerTimeoutError } from '../errors/handlerTimeoutError.js';
import { LeaseLostError } from '../errors/leaseLostError.js';
import { UnsubscribedError } from '../errors/unsubscribedError.js';
import { scheduleAt as at } from '../internal/deadlineTimer.js';
import type { StartedJob } from '../observe/probe.js';
import { type ConsumeSettings, releaseQuietly, whenDone } from './consumeSettings.js';
import type { ConsumeContext, ConsumeOutcome, MessageHandler } from './consumeTypes.js';
import type { MaybePromise, QueueStore } from './store.js';
import type { Delivery, ReceiptRejection } from './types.js';

/** What each outcome counts as, for `instrument`. */
const JOB_OUTCOME = { acked: 'done', nacked: 'failed', lost: 'lost' } as const;

/** The handler runs; then its ack or nack is under way; then the outcome is out. */
const RUNNING = 0;
const SETTLING = 1;
const DONE = 2;

/**
 * One delivery through its handler, to an outcome, as the job of `consumeQueue`'s worker pool.
 * Unsubscribing releases an unsettled lease.
 */
export function handleDelivery<T>(
  store: QueueStore<T>,
  handler: MessageHandler<T>,
  message: Delivery<T>,
  workerId: number,
  settings: ConsumeSettings<T>,
): Observable<ConsumeOutcome<T>> {
  return new Observable<ConsumeOutcome<T>>((out) =>
    new Handling(store, message, settings, out).start(handler, workerId),
  );
}

/**
 * The handler's `ConsumeContext`: its `signal` is made when first read. `signal` is an own,
 * enumerable accessor (`{ ...context }` keeps it, like `workerId`), defined from one shared
 * descriptor: an object literal with a getter costs about a microsecond per delivery.
 */
class HandlerContext implements ConsumeContext {
  static readonly #signal: PropertyDescriptor = {
    get(this: HandlerContext) {
      return this.#handling.signal();
    },
    enumerable: true,
  };
  readonly #handling: { signal(): AbortSignal };
  // both own properties, made in the constructor in this order (no field initialisers)
  declare readonly signal: AbortSignal;
  declare readonly workerId: number;

  constructor(handling: { signal(): AbortSignal }, workerId: number) {
    this.#handling = handling;
    Object.defineProperty(this, 'signal', HandlerContext.#signal);
    this.workerId = workerId;
  }
}

/** A cancellable timer. */
interface Timer {
  cancel(): void;
}

/**
 * One handler run and its timers: the lease (kept alive, or stopping the handler when it runs
 * out), the handler's `timeout`, and the store's release notice. The phase only moves forward,
 * so whichever of them comes first decides the outcome, and the others find it settled.
 */
class Handling<T> {
  private phase = RUNNING;
  /** The handler's signal's controller, made when the handler first reads `signal`. */
  private controller: AbortController | undefined = undefined;
  /** Set once the handler was told to stop, with why (the signal's reason). */
  private stopped: { readonly reason: unknown } | undefined = undefined;
  private handlerSub: Subscription | undefined = undefined;
  private heartbeat: Timer | undefined = undefined;
  private deadline: Timer | undefined = undefined;
  private unwatch: (() => void) | undefined = undefined;
  private started: StartedJob<Delivery<T>> | undefined = undefined;

  constructor(
    private readonly store: QueueStore<T>,
    private readonly message: Delivery<T>,
    private readonly settings: ConsumeSettings<T>,
    private readonly out: Subscriber<ConsumeOutcome<T>>,
  ) {}

  /** Arms the timers, runs the handler, and returns the teardown. */
  start(handler: MessageHandler<T>, workerId: number): () => void {
    this.started = this.settings.probe?.start(this.message, workerId);
    const now = this.settings.scheduler.now();
    this.watchRelease();
    this.run(handler, workerId);
    // A handler that finished synchronously needs no timers (most of a busy consumer's
    // handlers); the others count their lease and timeout from the start all the same.
    if (this.phase === RUNNING) {
      this.watchLease(now);
      this.watchTimeout(now);
    }
    return () => this.teardown();
  }

  private run(handler: MessageHandler<T>, workerId: number): void {
    let input: ObservableInput<unknown> | undefined;
    try {
      input = handler(this.message, new HandlerContext(this, workerId)) ?? undefined;
    } catch (error) {
      this.settle(true, error);
    }
    if (this.phase !== RUNNING) return;
    if (input === undefined) {
      this.settle(false, undefined);
      return;
    }
    // settled once the handler's subscription is torn down (its `finalize` has run)
    let ended: { failed: boolean; error: unknown } | undefined;
    try {
      this.handlerSub = from(input).subscribe({
        error: (error: unknown) => {
          ended = { failed: true, error };
        },
        complete: () => {
          ended = { failed: false, error: undefined };
        },
      });
      this.handlerSub.add(() => {
        if (ended !== undefined) this.settle(ended.failed, ended.error);
      });
    } catch (error) {
      this.settle(true, error);
    }
  }

  /** Keeps the lease alive (`keepAlive`), or stops the handler when the lease runs out. */
  private watchLease(now: number): void {
    const lease = this.store.visibilityTimeout;
    if (!(lease > 0) || lease === Number.POSITIVE_INFINITY) return;
    const { scheduler } = this.settings;
    if (this.settings.keepAlive) {
      this.beat(now, Math.max(1, Math.floor(lease / 2)), lease);
      return;
    }
    // Nothing keeps the lease: when it runs out the message is another consumer's, so this
    // handler is stopped and its worker freed (a hung handler cannot hold a worker forever).
    this.heartbeat = at(scheduler, now + lease, () => {
      if (this.phase !== RUNNING) return;
      this.lose('expired', new LeaseLostError(this.message.id, 'expired', lease));
    });
  }

  /** One keep-alive beat `every` ms after `from`, extending the lease by `lease`. */
  private beat(from: number, every: number, lease: number): void {
    const { scheduler } = this.settings;
    this.heartbeat = at(scheduler, from + every, () => {
      if (this.phase !== RUNNING) return;
      this.call(
        () => this.store.extend(this.message.receipt, lease),
        (r) => {
          if (this.phase !== RUNNING) return;
          if (r.ok) this.beat(this.settings.scheduler.now(), every, lease);
          else this.lose(r.reason, new LeaseLostError(this.message.id, r.reason));
        },
      );
    });
  }

  private watchTimeout(now: number): void {
    const { scheduler, timeout } = this.settings;
    if (timeout === Number.POSITIVE_INFINITY) return;
    this.deadline = at(scheduler, now + timeout, () => {
      if (this.phase !== RUNNING) return;
      const error = new HandlerTimeoutError(this.settings.where, this.message.id, timeout);
      this.stopHandler(error);
      this.settle(true, error);
    });
  }

  /**
   * Shutdown took the lease away (close() after its grace): the message may go to another
   * consumer now, so this handler must stop, and its outcome says why.
   */
  private watchRelease(): void {
    if (this.store.watchRelease === undefined) return;
    this.unwatch = this.store.watchRelease(this.message.receipt, () => {
      if (this.phase !== RUNNING) return;
      this.lose('released', new LeaseLostError(this.message.id, 'released'));
    });
  }

  /** The lease is gone while the handler runs: stop it, and the outcome is `'lost'`. */
  private lose(reason: ReceiptRejection, why: LeaseLostError): void {
    this.phase = DONE;
    this.stopTimers();
    this.stopHandler(why);
    this.finish({ status: 'lost', message: this.message, reason });
  }

  private stopTimers(): void {
    this.heartbeat?.cancel();
    this.deadline?.cancel();
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private stopHandler(reason: unknown): void {
    this.handlerSub?.unsubscribe();
    this.abort(reason);
  }

  /**
   * The handler's signal, made on first use (most handlers never read it): already aborted,
   * with the first reason, when the handler was told to stop before.
   */
  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopped !== undefined) this.controller.abort(this.stopped.reason);
    }
    return this.controller.signal;
  }

  /** Tells the handler to stop; the first reason is the one its signal carries. */
  private abort(reason: unknown): void {
    if (this.stopped !== undefined) return;
    this.stopped = { reason };
    this.controller?.abort(reason);
  }

  private finish(outcome: ConsumeOutcome<T>): void {
    this.phase = DONE;
    if (this.started !== undefined)
      this.settings.probe!.end(this.started, JOB_OUTCOME[outcome.status]);
    this.out.next(outcome);
    this.out.complete();
  }

  private fail(error: unknown): void {
    this.phase = DONE;
    if (this.started !== undefined) this.settings.probe!.end(this.started, 'failed');
    this.stopTimers();
    this.stopHandler(error);
    this.out.error(error);
  }

  /** Calls the store; a thrown or rejected call fails the consumer. */
  private call<R>(request: () => MaybePromise<R>, onValue: (result: R) => void): void {
    let value: MaybePromise<R>;
    try {
      value = request();
    } catch (error) {
      this.fail(error);
      return;
    }
    whenDone(value, onValue, (error) => {
      if (this.phase !== DONE) this.fail(error);
    });
  }

  /** The handler ended: ack on success, nack after the backoff's delay on failure. */
  private settle(failed: boolean, error: unknown): void {
    if (this.phase !== RUNNING) return;
    this.phase = SETTLING;
    this.stopTimers();
    const { message, store } = this;
    if (!failed) {
      this.call(
        () => store.ack(message.receipt),
        (r) =>
          this.finish(
            r.ok ? { status: 'acked', message } : { status: 'lost', message, reason: r.reason },
          ),
      );
      return;
    }
    let delay: number;
    try {
      delay = this.settings.backoff(message, error);
    } catch (callbackError) {
      this.fail(callbackError);
      return;
    }
    this.call(
      () => store.nack(message.receipt, { delay, error }),
      (r) =>
        this.finish(
          r.ok
            ? { status: 'nacked', message, error, deadLettered: r.deadLettered }
            : { status: 'lost', message, reason: r.reason, error },
        ),
    );
  }

  private teardown(): void {
    if (this.started !== undefined) this.settings.probe!.end(this.started, 'cancelled');
    this.stopTimers();
    this.handlerSub?.unsubscribe();
    if (this.phase !== RUNNING) return;
    this.phase = DONE;
    this.abort(new UnsubscribedError('consume'));
    releaseQuietly(this.store, this.message.receipt);
  }
}
