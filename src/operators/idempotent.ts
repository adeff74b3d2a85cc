import type { ObservableInput, OperatorFunction, SchedulerLike } from 'rxjs';
import type { HandlerContext, IdempotentOutcome } from '../idempotentRecords.js';
import { windowConfig } from '../internal/deliveryInternals.js';
import { type IdempotentSettings, IdempotentStage } from '../internal/operator/idempotentStage.js';
import { operate } from '../internal/operator/operate.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import { checkCapacity, checkFunction, checkOptions, optionNames } from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

export type { HandlerContext, IdempotentOutcome };

/** Options of `idempotent`. */
export interface IdempotentOptions<T, K = T> extends OverflowOptions<T> {
  /**
   * The message's identity (an idempotency key), compared with `Map` semantics. It may be
   * called more than once per message, so keep it pure. @default the message itself
   */
  readonly key?: (message: T) => K;
  /** How long a succeeded key is remembered after its handler succeeded, in milliseconds, or `Infinity`. @default 300000 */
  readonly ttl?: number;
  /** The most succeeded keys remembered at once; the oldest is forgotten first. `Infinity` for no bound. @default 10000 */
  readonly maxKeys?: number;
  /** Handlers running at once: a whole number >= 1 or `Infinity`. @default 1 */
  readonly concurrency?: number;
  /**
   * Messages that may wait, for a free slot or for the outcome of a running duplicate (from a
   * push source, or read ahead from a sluice stage in front; outcomes not yet taken by a
   * sluice consumer count too); `Infinity` for no bound. @default 1000
   */
  readonly capacity?: number;
  /** The clock that TTLs are measured on (only `now()` is used). @default a monotonic scheduler (`performance.now()`, immune to wall-clock changes) */
  readonly scheduler?: SchedulerLike;
  /** Told about each message that will share another's outcome instead of running the handler. */
  readonly onDuplicate?: (message: T, key: K) => void;
}

const WHERE = 'idempotent';
const IDEMPOTENT_OPTIONS = optionNames<IdempotentOptions<unknown>>()({
  key: 1,
  ttl: 1,
  maxKeys: 1,
  concurrency: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  scheduler: 1,
  onDuplicate: 1,
});

/**
 * Runs `handler` at most once per key: the consumer half of exactly-once processing. Behind
 * an at-least-once delivery, the same message can arrive twice (a retry after a lost ack, a
 * duplicate on the wire); `idempotent` applies its effect once and gives every copy the same
 * outcome, so every copy can be acknowledged.
 *
 * - The handler's first value is its result; the handler is then unsubscribed. An error, a
 *   throw, or a completion without a value is a failure.
 * - A key counts as done only after its handler succeeded. A succeeded key is remembered for
 *   `ttl` (from the success) and at most `maxKeys` keys are remembered (oldest forgotten
 *   first); a copy arriving then gets the remembered result without running the handler.
 * - A failed key is not remembered: the next copy runs the handler again (a retry).
 * - A copy that arrives while the handler for its key runs waits for that run and shares its
 *   outcome, success or failure, without running the handler.
 *
 * Every message gets exactly one outcome `{ message, ok, result | error, shared }`, emitted when
 * known: a handler failure is an outcome (`ok: false`), not an error of the output, so the
 * stream survives it and the message can be retried. Outcomes are emitted as they are known,
 * not in input order.
 *
 * ```text
 * source:   a-a-----a-|     handler for a: ---r|   (ttl 10)
 * output:   ---(xy)-z-|     x = a ran; y = a shared the running outcome;
 *                           z = a shared the remembered outcome (the handler ran once)
 * ```
 *
 * **Backpressure.** At most `concurrency` handlers run, and a handler starts only when its
 * outcome has somewhere to go: the output is demand-aware, so a sluice stage after this one
 * slows it down (a plain subscriber is unlimited demand). From a channel receiver or
 * `fromIterable` at most `concurrency` messages are taken and unanswered at a time, running or
 * sharing a running outcome; a copy answered from memory frees its place at once. A sluice
 * stage in front, also through synchronous RxJS operators, is let work up to `capacity` ahead.
 * From a push source, messages wait for a free slot, or for a running copy's outcome, in a
 * bound of `capacity` (default 1000) under `overflow`: `'drop'` discards the incoming message
 * and `'replace'` the oldest one waiting for a slot (the incoming one if only copies wait),
 * both reported to `onOverflow`; `'block'` and `'error'` stop the intake, let everything
 * accepted finish, then fail the output with `ChannelFullError` carrying the refused message.
 *
 * **Errors.** Handler failures are outcomes. A `key`, `onDuplicate` or `onOverflow` that throws
 * fails the output at once. A source error reaches the output after every accepted message has
 * its outcome.
 *
 * **Cancellation.** Unsubscribing unsubscribes the running handlers and aborts their `signal`;
 * waiting messages and copies get no outcome, and the remembered keys are forgotten. The
 * memory is per subscription and in memory: a new subscription, or a new process, starts
 * empty, so an effect that must survive restarts needs its own durable idempotency record.
 *
 * **Differences from idempotency keys in HTTP APIs (Stripe, the IETF draft).** A request that
 * arrives while the first is in progress waits and shares the outcome instead of being refused
 * with a conflict; failures are not remembered, so they can be retried.
 *
 * @param handler Applies the effect of one message; its first value is the result.
 * @param options `key`, `ttl`, `maxKeys`, `concurrency`, `capacity`, `overflow`,
 *   `onOverflow`, `scheduler`, `onDuplicate`.
 * @returns An operator emitting one `IdempotentOutcome` per message.
 * @throws TypeError or RangeError for a bad `handler` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { TestScheduler } from 'rxjs/testing';
 * import { idempotent } from 'sluice';
 *
 * let runs = 0;
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(
 *   ({ cold, expectObservable }) => {
 *     const output = cold('a-a-----a-|').pipe(
 *       idempotent(
 *         (message: string) => {
 *           runs++;
 *           return cold('---r|', { r: message.toUpperCase() });
 *         },
 *         { ttl: 10 },
 *       ),
 *     );
 *     expectObservable(output).toBe('---(xy)-z-|', {
 *       x: { message: 'a', ok: true, result: 'A', shared: false },
 *       y: { message: 'a', ok: true, result: 'A', shared: true },
 *       z: { message: 'a', ok: true, result: 'A', shared: true },
 *     });
 *   },
 * );
 * assert.equal(runs, 1);
 * ```
 */
export function idempotent<T, R, K = T>(
  handler: (message: T, context: HandlerContext<K>) => ObservableInput<R>,
  options?: IdempotentOptions<T, K>,
): OperatorFunction<T, IdempotentOutcome<T, R>> {
  checkFunction(WHERE, 'handler', handler);
  const opts = checkOptions<IdempotentOptions<T, K>>(WHERE, options, IDEMPOTENT_OPTIONS);
  const { key, ttl, maxKeys, scheduler = monotonicScheduler } = windowConfig<T, K>(WHERE, opts);
  const concurrency =
    opts.concurrency === undefined ? 1 : checkCapacity(WHERE, 'concurrency', opts.concurrency);
  const buffer = bufferConfig<T>(WHERE, opts.capacity ?? 1000, {
    overflow: opts.overflow,
    onOverflow: opts.onOverflow,
  });
  const onDuplicate = checkFunction<(message: T, key: K) => void>(
    WHERE,
    'onDuplicate',
    opts.onDuplicate,
    true,
  );

  const settings: IdempotentSettings<T, K, R> = {
    where: WHERE,
    handler,
    key,
    ttl,
    maxKeys,
    concurrency,
    buffer,
    now: () => scheduler.now(),
    onDuplicate,
  };
  return operate<T, IdempotentOutcome<T, R>>((source, out) => {
    new IdempotentStage<T, K, R>(out, settings, source);
  });
}
