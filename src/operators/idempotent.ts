import { from, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { NoResultError } from '../errors/noResultError.js';
import { ChannelFullError } from '../errors.js';
import {
  Feed,
  Intake,
  KeyWindow,
  LazySignal,
  windowConfig,
} from '../internal/deliveryInternals.js';
import { StageObservable } from '../internal/demand.js';
import { Outlet } from '../internal/outlet.js';
import { bufferConfig, type Offer, PolicyBuffer } from '../internal/policyBuffer.js';
import { hideLink, Room, restoreLink } from '../internal/roomLink.js';

import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import { checkCapacity, checkFunction, checkOptions, optionNames } from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/** What the handler is told about the message it runs for. */
export interface HandlerContext<K> {
  /** The message's key. */
  readonly key: K;
  /** Aborts when the output is unsubscribed while the handler runs. */
  readonly signal: AbortSignal;
}

/**
 * The outcome of one message, as `idempotent` emits it: every message gets exactly one.
 * `shared` is true when this message's handler did not run because another message with the
 * same key ran it (still running when this one arrived, or succeeded within `ttl`).
 */
export type IdempotentOutcome<T, R> =
  | { readonly message: T; readonly ok: true; readonly result: R; readonly shared: boolean }
  | { readonly message: T; readonly ok: false; readonly error: unknown; readonly shared: boolean };

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

interface Run<T, K, R> {
  readonly key: K;
  readonly message: T;
  readonly context: RunContext<K>;
  inner: Intake<R> | undefined;
  /** Duplicates that arrived while this run was in progress; they share its outcome. */
  followers: T[] | undefined;
  over: boolean;
}

class RunContext<K> extends LazySignal implements HandlerContext<K> {
  constructor(readonly key: K) {
    super();
  }
}

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

  return (source) =>
    new StageObservable<IdempotentOutcome<T, R>>((downstream) => {
      const subscriber = new Outlet<IdempotentOutcome<T, R>>(downstream);
      const done = new KeyWindow<K, R>(ttl, maxKeys);
      const running = new Map<K, Run<T, K, R>>();
      const waiting = new PolicyBuffer<T>(buffer, { extra: () => attached + subscriber.backlog });
      /** Copies waiting for a running duplicate's outcome. */
      let attached = 0;
      let ending: { readonly error?: unknown; readonly failed: boolean } | undefined;
      let pumping = false;
      /** Pull source: messages taken whose outcome is not yet emitted, and messages asked for. */
      let pending = 0;
      let asked = 0;

      /**
       * A run may start when a worker slot is free and every outcome owed (running messages and
       * the copies attached to them) has room in the output: its result has somewhere to go.
       */
      const canStart = (): boolean =>
        running.size < concurrency && running.size + attached < subscriber.credit;

      /** Pull source: ask for as many messages as there are slots with room in the output. */
      const topUp = (): void => {
        if (!feed.pulled || subscriber.closed || ending !== undefined) return;
        const credit = subscriber.credit;
        const want = Math.min(credit, concurrency) - pending - asked;
        if (want > 0) {
          asked += want;
          feed.request(want);
        }
      };

      /**
       * Push source: how many more messages fit without the policy acting: free places in the
       * waiting line (copies attached to a run and outcomes the consumer has not asked for yet
       * count against it), plus the runs that could start at once.
       */
      const room = new Room(() => {
        if (ending !== undefined) return 0;
        const free = waiting.capacity - waiting.size - attached - subscriber.backlog;
        if (waiting.size > 0) return free;
        const credit = subscriber.credit - running.size - attached;
        const slots = concurrency - running.size;
        return free + Math.max(0, Math.min(credit, slots));
      });

      const fail = (error: unknown): void => {
        feed.failure ??= { error }; // its source is told, so a channel it reads closes
        subscriber.error(error);
      };

      /** Outcomes of a finished run still being emitted (its own and its followers'). */
      let settling = 0;
      const checkEnd = (): void => {
        if (
          ending === undefined ||
          running.size > 0 ||
          waiting.size > 0 ||
          attached > 0 ||
          settling > 0 ||
          pumping ||
          subscriber.closed
        ) {
          return;
        }
        if (ending.failed) subscriber.error(ending.error);
        else subscriber.complete();
      };

      /** Emits one message's outcome; a pull source may then send one more. */
      const emit = (outcome: IdempotentOutcome<T, R>): void => {
        subscriber.next(outcome);
        if (feed.pulled) {
          pending--;
          topUp();
        }
      };

      const duplicate = (message: T, k: K): boolean => {
        if (onDuplicate === undefined) return true;
        try {
          onDuplicate(message, k);
          return true;
        } catch (error) {
          fail(error);
          return false;
        }
      };

      /** Decides what happens to a message: remembered, attached to its running copy, run, or wait. */
      const route = (message: T, k: K, fromQueue: boolean): void => {
        const now = scheduler.now();
        done.expire(now);
        if (done.has(k)) {
          const result = done.get(k) as R;
          if (duplicate(message, k)) emit({ message, ok: true, result, shared: true });
          checkEnd();
          return;
        }
        const run = running.get(k);
        if (run !== undefined) {
          if (fromQueue || feed.pulled) attach(run, message, k);
          else hold(message, run, k);
          return;
        }
        if ((fromQueue || waiting.size === 0) && (feed.pulled || canStart())) {
          start(message, k);
        } else if (fromQueue) {
          waiting.push(message); // not reached: the pump only routes while a slot is free
        } else {
          hold(message, undefined, k);
        }
      };

      const attach = (run: Run<T, K, R>, message: T, k: K): void => {
        if (!duplicate(message, k)) return;
        if (run.followers === undefined) run.followers = [message];
        else run.followers.push(message);
        attached++;
      };

      /**
       * A message must wait (push source): within `capacity` (copies attached to a run and
       * outcomes not yet taken count too), or by the overflow policy, which under 'replace'
       * discards the oldest message waiting for a slot (the incoming one if only copies wait).
       */
      const hold = (message: T, run: Run<T, K, R> | undefined, k: K): void => {
        if (room.inflow > 0 || !waiting.isFull) {
          if (run !== undefined) attach(run, message, k);
          else waiting.push(message);
          return;
        }
        let offer: Offer;
        try {
          offer =
            run === undefined
              ? waiting.overflow(message)
              : waiting.overflow(message, (m) => attach(run, m, k));
        } catch (error) {
          fail(error);
          return;
        }
        if (offer !== 'full') return;
        ending = {
          failed: true,
          error: new ChannelFullError(
            `${WHERE}: ${running.size} running and ${waiting.size + attached} waiting (capacity ${waiting.capacity})` +
              (waiting.policy === 'block'
                ? `; a push source cannot wait under 'block': use a sluice pull source, a larger capacity, or 'drop' or 'replace'`
                : ''),
            message,
          ),
        };
        feed.cancel();
        checkEnd();
      };

      const start = (message: T, k: K): void => {
        const run: Run<T, K, R> = {
          key: k,
          message,
          context: new RunContext(k),
          inner: undefined,
          followers: undefined,
          over: false,
        };
        running.set(k, run);
        let input: ObservableInput<R>;
        const link = hideLink(); // the handler's own sources must not see a link meant for us
        try {
          input = handler(message, run.context);
        } catch (error) {
          restoreLink(link);
          finish(run, { ok: false, error });
          return;
        }
        const inner = new Intake<R>(
          (result) => finish(run, { ok: true, result }),
          (error) => finish(run, { ok: false, error }),
          () =>
            finish(run, {
              ok: false,
              error: new NoResultError(),
            }),
        );
        run.inner = inner;
        try {
          from(input).subscribe(inner);
        } catch (error) {
          inner.unsubscribe();
          finish(run, { ok: false, error });
        } finally {
          restoreLink(link);
        }
      };

      const finish = (
        run: Run<T, K, R>,
        outcome:
          | { readonly ok: true; readonly result: R }
          | { readonly ok: false; readonly error: unknown },
      ): void => {
        if (run.over) return;
        run.over = true;
        run.inner?.unsubscribe();
        running.delete(run.key);
        if (outcome.ok) {
          const now = scheduler.now();
          done.expire(now);
          done.set(run.key, outcome.result, now);
        }
        const followers = run.followers;
        run.followers = undefined;
        if (followers !== undefined) attached -= followers.length;
        // emitting may pull the source to its end: the end waits for every outcome of this run
        settling++;
        try {
          emit({ message: run.message, ...outcome, shared: false });
          if (followers !== undefined) {
            for (const message of followers) {
              if (subscriber.closed) return;
              emit({ message, ...outcome, shared: true });
            }
          }
        } finally {
          settling--;
        }
        if (subscriber.closed) return;
        pump();
        checkEnd();
      };

      const pump = (): void => {
        if (pumping) return;
        pumping = true;
        try {
          while (!subscriber.closed && waiting.size > 0 && canStart()) {
            const message = waiting.shift();
            let k: K;
            try {
              k = key(message);
            } catch (error) {
              fail(error);
              return;
            }
            route(message, k, true);
          }
        } finally {
          pumping = false;
        }
        room.wake();
        checkEnd();
      };

      subscriber.add(() => {
        ending ??= { failed: false };
        feed.failure ??= subscriber.cancelledBy;
        room.failure = feed.failure;
        // the intake first: a closed room is unlimited, and a linked source still attached
        // would be asked for everything it has
        feed.cancel();
        room.close();
        for (const run of running.values()) {
          run.over = true;
          run.followers = undefined;
          run.inner?.unsubscribe();
          run.context.abort();
        }
        running.clear();
        attached = 0;
        waiting.drain();
        done.clear();
      });

      const feed = new Feed<T>(source, subscriber, {
        next: (message) => {
          if (feed.pulled) {
            asked--;
            pending++;
          }
          if (ending !== undefined) return;
          let k: K;
          try {
            k = key(message);
          } catch (error) {
            fail(error);
            return;
          }
          route(message, k, false);
        },
        error: (error) => {
          if (ending !== undefined) return;
          ending = { failed: true, error };
          checkEnd();
        },
        complete: () => {
          if (ending !== undefined) return;
          ending = { failed: false };
          checkEnd();
        },
      });
      subscriber.onCredit = () => {
        pump();
        topUp();
      };
      subscriber.onStop = () => {
        // the consumer drains: take nothing new, finish the runs, then complete
        if (ending !== undefined) return;
        if (feed.stop()) return;
        ending = { failed: false };
        checkEnd();
      };
      subscriber.onStart = () => feed.start(room);
      return subscriber;
    });
}
