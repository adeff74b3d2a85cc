import {
  asyncScheduler,
  defer,
  from,
  Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import { HandlerTimeoutError, UnsubscribedError, workerPool } from 'sluice';
import {
  checkDuration,
  checkFunction,
  checkInteger,
  checkOptions,
  checkScheduler,
  checkSignal,
  renamedOption,
} from '../internal/validate.js';
import {
  type AmqpDelivery,
  type AmqpReceiverOptions,
  amqpReceiver,
  receiverSettings,
} from './amqpReceiver.js';
import { errorText } from './codec.js';
import type { AmqpConnection } from './connection.js';
import { DeadLetterWriter } from './deadLetter.js';
import { type AmqpReconnectOptions, reconnecting, reconnectSettings } from './reconnect.js';

/** What a handler knows besides the delivery. */
export interface AmqpConsumeContext {
  /** Aborted when the handler should stop: its `timeout` ran out, or the consumer was unsubscribed. */
  readonly signal: AbortSignal;
  /** Which worker runs it: 0 to `concurrency - 1`. */
  readonly workerId: number;
}

/**
 * Handles one delivery. Success is completion (a resolved promise, a completed Observable, a
 * synchronous return); failure is a throw, a rejection or an error. Values emitted are ignored.
 */
export type AmqpMessageHandler<T> = (
  delivery: AmqpDelivery<T>,
  context: AmqpConsumeContext,
) => ObservableInput<unknown> | void;

/** Options of `consumeAmqp`. */
export interface AmqpConsumeOptions {
  /** Handlers running at once. @default 1 */
  readonly concurrency?: number;
  /**
   * Attempts a message gets: after a failure on its last attempt (by the broker's count,
   * `delivery.attempt`) it is dead-lettered, before that it is requeued. Match it to the queue's
   * delivery limit (`amqpTopology` does), which catches a message whose consumer crashed on
   * it. @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Milliseconds a handler may run; then its signal is aborted and it counts as failed with a
   * `HandlerTimeoutError`. @default Infinity
   */
  readonly timeout?: number;
  /** Aborting it drains: no new deliveries, running handlers finish and are settled, then the outcomes complete. */
  readonly drain?: AbortSignal;
  /**
   * @deprecated Use `drain`: `signal` means "abort this call" everywhere else in sluice. Still
   * accepted with the same meaning; passing both is a `TypeError`.
   */
  readonly signal?: AbortSignal;
  /** Timers (the handler timeout, the reconnection back-off). @default asyncScheduler */
  readonly scheduler?: SchedulerLike;
  /**
   * Opt-in: when the channel is lost (`ChannelLostError`), open a new connection with
   * `reconnect.connect` after a back-off and consume again, instead of erroring. The broker
   * redelivers every message not acked, so nothing is lost. Without it the stream errors.
   */
  readonly reconnect?: AmqpReconnectOptions;
}

/**
 * What became of one delivery.
 * - `'acked'`: the handler succeeded and the message was acknowledged.
 * - `'requeued'`: the handler failed (`error`) with attempts left; the message is back in the queue.
 * - `'dead-lettered'`: the handler failed on its last attempt; the message went to the
 *   dead-letter exchange with the error as its `x-sluice-reason`.
 * - `'lost'`: the channel was gone when the consumer settled the delivery; the broker
 *   redelivers the message (`error` is the handler's, if it failed).
 */
export type AmqpConsumeOutcome<T> =
  | { readonly status: 'acked'; readonly message: AmqpDelivery<T> }
  | { readonly status: 'requeued'; readonly message: AmqpDelivery<T>; readonly error: unknown }
  | {
      readonly status: 'dead-lettered';
      readonly message: AmqpDelivery<T>;
      readonly error: unknown;
    }
  | { readonly status: 'lost'; readonly message: AmqpDelivery<T>; readonly error?: unknown };

/**
 * Consumes a RabbitMQ queue with a pool of handlers: takes a delivery per free worker, acks it
 * when its handler succeeds, requeues it when it fails with attempts left, dead-letters it
 * (with the error as the reason) when it fails on its last, and emits each delivery's outcome.
 * The attempt count is the broker's (a quorum queue's delivery count), so it survives crashes
 * and is shared by every consumer of the queue. `consumeQueue`'s twin for RabbitMQ.
 *
 * ```text
 * queue:      a b c                     concurrency 2, maxAttempts 2
 * handlers:   [a--ok] [c-ok]
 *               [b-throws] ... [b-throws] (attempt 2)
 * outcomes:   --acked(a)-requeued(b)-acked(c)--dead-lettered(b)
 * ```
 *
 * **Backpressure.** The receiver's `prefetch` (at least `concurrency`; by default the larger of
 * 10 and `concurrency`) bounds what the broker pushes to this consumer; a delivery is handed to
 * a handler only when a worker is free (the receiver is pulled by the pool), so a slow handler
 * never makes the consumer hold more than `prefetch` messages.
 *
 * **Errors.** A handler's failure is an outcome, never an error of the stream. A body that
 * cannot be decoded is dead-lettered by the receiver with the reason and never reaches a
 * handler. The stream errors with `ChannelLostError` when its channel closes under it (the
 * connection was lost, or closed by the broker); every delivery not yet acked is then
 * redelivered by the broker: nothing is lost, and running handlers are aborted.
 * With `reconnect` it consumes again instead, on a new connection, after a back-off that
 * doubles from `initialDelay` to `maxDelay`; it errors with the last error only after
 * `maxAttempts` tries in a row without settling a delivery.
 *
 * **Cancellation.** Aborting `drain` drains: the consumer stops taking messages at once
 * (deliveries prefetched but not started go back to the queue), running handlers finish and
 * are settled, then the stream completes. Unsubscribing stops at once: each running handler's
 * signal is aborted and its delivery requeued.
 *
 * @example
 * ```typescript amqp
 * import assert from 'node:assert/strict';
 * import amqplib from 'amqplib';
 * import { lastValueFrom, tap, toArray } from 'rxjs';
 * import { AmqpPublisher, amqpTopology, consumeAmqp } from 'sluice/amqp';
 *
 * const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://127.0.0.1');
 * const topology = await amqpTopology(connection, {
 *   queue: `resize-${process.pid}`,
 *   maxAttempts: 2,
 * });
 * const publisher = new AmqpPublisher<number>({ connection, ...topology.publishTo });
 * for (const n of [1, 2, 3]) await publisher.send(n);
 *
 * const drain = new AbortController();
 * const outcomes = await lastValueFrom(
 *   consumeAmqp(
 *     { connection, queue: topology.queue, deadLetter: topology.deadLetter },
 *     async (message) => {
 *       if (message.payload === 2) throw new Error('cannot resize');
 *     },
 *     { concurrency: 2, maxAttempts: 2, drain: drain.signal },
 *   ).pipe(
 *     tap((o) => o.status === 'dead-lettered' && drain.abort()), // stop once 2 gave up
 *     toArray(),
 *   ),
 * );
 * const failures = outcomes.filter((o) => o.message.payload === 2).map((o) => o.status);
 * assert.deepEqual(failures, ['requeued', 'dead-lettered']);
 * await publisher.close();
 * await topology.delete();
 * await connection.close();
 * ```
 *
 * @param source The queue: `connection`, `queue`, `prefetch`, `serializer`, `deadLetter`.
 * @param handler Handles one delivery (see `AmqpMessageHandler`).
 * @param options `concurrency`, `maxAttempts`, `timeout`, `drain`, `scheduler`, `reconnect`.
 * @returns A cold Observable of outcomes; each subscription is one AMQP consumer.
 * @throws TypeError or RangeError for a bad argument, naming it.
 */
export function consumeAmqp<T>(
  source: AmqpReceiverOptions<T>,
  handler: AmqpMessageHandler<T>,
  options?: AmqpConsumeOptions,
): Observable<AmqpConsumeOutcome<T>> {
  const where = 'consumeAmqp';
  const settings = receiverSettings(where, source);
  checkFunction(where, 'handler', handler);
  const opts = checkOptions<AmqpConsumeOptions>(where, options);
  const concurrency =
    opts.concurrency === undefined ? 1 : checkInteger(where, 'concurrency', opts.concurrency, 1);
  const maxAttempts =
    opts.maxAttempts === undefined ? 5 : checkInteger(where, 'maxAttempts', opts.maxAttempts, 1);
  const timeout =
    opts.timeout === undefined
      ? Number.POSITIVE_INFINITY
      : checkDuration(where, 'timeout', opts.timeout, true);
  const drain = checkSignal(
    where,
    renamedOption(where, 'drain', opts.drain, 'signal', opts.signal),
    opts.drain === undefined && opts.signal !== undefined ? 'signal' : 'drain',
  );
  const scheduler = checkScheduler<SchedulerLike>(where, opts.scheduler) ?? asyncScheduler;
  const prefetch = Math.max(source.prefetch ?? Math.max(10, concurrency), concurrency);
  const reconnect = reconnectSettings(where, opts.reconnect);

  const consume = (connection: AmqpConnection) =>
    defer(() => {
      const deadLetters =
        settings.deadLetter === undefined
          ? undefined
          : new DeadLetterWriter(connection, settings.deadLetter, settings.queue);
      const run: Run<T> = { handler, maxAttempts, timeout, scheduler, deadLetters };
      return new Observable<AmqpConsumeOutcome<T>>((subscriber) => {
        const inner = amqpReceiver<T>({ ...source, connection, prefetch })
          .pipe(
            workerPool<AmqpDelivery<T>, AmqpConsumeOutcome<T>>(
              (delivery, context) => handle(run, delivery, context),
              { concurrency, drain },
            ),
          )
          .subscribe(subscriber);
        return () => {
          inner.unsubscribe();
          void deadLetters?.close();
        };
      });
    });
  if (reconnect === undefined) return consume(settings.connection);
  return reconnecting(
    settings.connection,
    consume,
    reconnect,
    scheduler,
    (outcome) => outcome.status !== 'lost',
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

interface Run<T> {
  readonly handler: AmqpMessageHandler<T>;
  readonly maxAttempts: number;
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
  readonly deadLetters: DeadLetterWriter | undefined;
}

/** One delivery through its handler, to an outcome. Unsubscribing requeues an unsettled one. */
function handle<T>(
  run: Run<T>,
  message: AmqpDelivery<T>,
  context: { readonly workerId: number; readonly signal: AbortSignal },
): Observable<AmqpConsumeOutcome<T>> {
  return new Observable<AmqpConsumeOutcome<T>>((out) =>
    new Handling(run, message, context, out).start(),
  );
}

/**
 * One handler run: its state in one object rather than a closure per step, since a consumer
 * makes one per message. It is also the handler's context (`workerId`, `signal`); its own
 * fields are private (`#`), so the handler sees only those two.
 */
class Handling<T> implements AmqpConsumeContext {
  #running = true;
  readonly #run: Run<T>;
  readonly #message: AmqpDelivery<T>;
  readonly #job: { readonly workerId: number; readonly signal: AbortSignal };
  readonly #out: Subscriber<AmqpConsumeOutcome<T>>;
  // the pool's job signal aborts on unsubscribe; a timeout needs a signal of its own
  #controller: AbortController | undefined;
  #handlerSub: Subscription | undefined;
  #deadline: Subscription | undefined;

  constructor(
    run: Run<T>,
    message: AmqpDelivery<T>,
    job: { readonly workerId: number; readonly signal: AbortSignal },
    out: Subscriber<AmqpConsumeOutcome<T>>,
  ) {
    this.#run = run;
    this.#message = message;
    this.#job = job;
    this.#out = out;
  }

  get workerId(): number {
    return this.#job.workerId;
  }

  /** Read lazily: the pool makes its job signal only when someone asks for it. */
  get signal(): AbortSignal {
    return this.#controller?.signal ?? this.#job.signal;
  }

  start(): () => void {
    const run = this.#run;
    if (run.timeout !== Number.POSITIVE_INFINITY) {
      this.#controller = new AbortController();
      this.#deadline = run.scheduler.schedule(() => this.#timedOut(), run.timeout);
    }
    let input: ObservableInput<unknown> | undefined;
    try {
      input = run.handler(this.#message, this) ?? undefined;
    } catch (error) {
      this.#settle(true, error);
    }
    if (this.#running) {
      if (input === undefined) this.#settle(false, undefined);
      else if (isPromiseLike(input)) {
        // the common case, an async handler: no Observable around its promise
        input.then(
          () => this.#settle(false, undefined),
          (error: unknown) => this.#settle(true, error),
        );
      } else {
        try {
          this.#handlerSub = from(input).subscribe({
            error: (error: unknown) => this.#settle(true, error),
            complete: () => this.#settle(false, undefined),
          });
        } catch (error) {
          this.#settle(true, error);
        }
      }
    }
    return () => this.#teardown();
  }

  #timedOut(): void {
    if (!this.#running) return;
    const error = new HandlerTimeoutError(
      'consumeAmqp',
      this.#message.messageId,
      this.#run.timeout,
    );
    this.#handlerSub?.unsubscribe();
    this.#controller?.abort(error);
    this.#settle(true, error);
  }

  #teardown(): void {
    this.#deadline?.unsubscribe();
    this.#handlerSub?.unsubscribe();
    if (!this.#running) return;
    this.#running = false;
    this.#controller?.abort(new UnsubscribedError('consumeAmqp'));
    this.#message.nack({ requeue: true });
  }

  #finish(outcome: AmqpConsumeOutcome<T>): void {
    this.#out.next(outcome);
    this.#out.complete();
  }

  #settle(failed: boolean, error: unknown): void {
    if (!this.#running) return;
    this.#running = false;
    this.#deadline?.unsubscribe();
    const run = this.#run;
    const message = this.#message;
    if (!failed) {
      this.#finish(message.ack() ? { status: 'acked', message } : { status: 'lost', message });
      return;
    }
    if (message.attempt < run.maxAttempts) {
      this.#finish(
        message.nack({ requeue: true })
          ? { status: 'requeued', message, error }
          : { status: 'lost', message, error },
      );
      return;
    }
    if (run.deadLetters === undefined) {
      this.#finish(
        message.nack({ requeue: false })
          ? { status: 'dead-lettered', message, error }
          : { status: 'lost', message, error },
      );
      return;
    }
    const reason = `failed on attempt ${message.attempt} of ${run.maxAttempts}: ${errorText(error)}`;
    run.deadLetters.write(message.raw, reason, message.attempt).then(
      () =>
        this.#finish(
          message.ack()
            ? { status: 'dead-lettered', message, error }
            : { status: 'lost', message, error },
        ),
      () => {
        // could not dead-letter it: give it back, it is tried again
        message.nack({ requeue: true });
        this.#finish({ status: 'lost', message, error });
      },
    );
  }
}
