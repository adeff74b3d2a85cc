import {
  defer,
  from,
  isObservable,
  map,
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkOptions,
  checkScheduler,
} from '../internal/validate.js';
import {
  type ConsumeContext,
  type ConsumeOptions,
  type ConsumeOutcome,
  consumeQueue,
} from './consume.js';
import { CONSUME_OPTIONS } from './optionNames.js';
import type { QueueStore } from './store.js';
import type { Delivery } from './types.js';

/** What a batch handler knows besides its messages. */
export interface BatchContext<T> {
  /**
   * Aborted when the batch should stop: when the signal of any of its messages aborts (its
   * `timeout` ran out, its lease was lost or released by `close()`, the consumer was
   * unsubscribed).
   */
  readonly signal: AbortSignal;
  /**
   * Marks one message of the batch as failed: it is nacked with `error` (tried again, or
   * dead-lettered on its last attempt) while the others are acknowledged when the handler
   * succeeds. For a bulk call that reports per-item failures.
   */
  fail(message: Delivery<T>, error: unknown): void;
}

/**
 * Handles a batch of deliveries. Success is completion (a resolved promise, a completed
 * Observable, a synchronous return): every message not marked with `context.fail` is
 * acknowledged. A failure (throw, rejection, error) nacks every message of the batch.
 */
export type BatchHandler<T> = (
  messages: ReadonlyArray<Delivery<T>>,
  context: BatchContext<T>,
) => ObservableInput<unknown> | void;

/** Options of `consumeBatch` / `consumeQueueBatch`. */
export interface ConsumeBatchOptions<T> extends Omit<ConsumeOptions<T>, 'concurrency'> {
  /** The most messages in one batch (a whole number >= 1). */
  readonly size: number;
  /**
   * Milliseconds a partial batch waits for more after its first message; then it runs with what
   * it has. With 0 it runs with what arrived in the same turn of the event loop. @default 0
   */
  readonly time?: number;
  /**
   * Batches running at once (a whole number >= 1, or an Observable of them whose 0 pauses the
   * consumer); at most `concurrency × size` messages are leased. @default 1
   */
  readonly concurrency?: number | Observable<number>;
}

/** `consumeQueue`'s option names and the batch's own. */
const BATCH_OPTIONS: readonly string[] = [...CONSUME_OPTIONS, 'size', 'time'];

interface Member<T> {
  readonly message: Delivery<T>;
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  failure?: { readonly error: unknown };
}

/** Collects the deliveries of one consumer into batches and runs the handler on each. */
class Batcher<T> {
  private pending: Member<T>[] = [];
  private timer: Subscription | undefined = undefined;

  constructor(
    private readonly handler: BatchHandler<T>,
    private readonly size: number,
    private readonly time: number,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** The single-message handler given to `consumeQueue`: settles when its batch has run. */
  join(message: Delivery<T>, context: ConsumeContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const member: Member<T> = { message, signal: context.signal, resolve, reject };
      if (context.signal.aborted) {
        reject(context.signal.reason);
        return;
      }
      // Cut off while still waiting for its batch: it leaves the batch at once.
      const leave = () => {
        const at = this.pending.indexOf(member);
        if (at < 0) return;
        this.pending.splice(at, 1);
        if (this.pending.length === 0) this.cancelTimer();
        reject(context.signal.reason);
      };
      context.signal.addEventListener('abort', leave, { once: true });
      this.pending.push(member);
      if (this.pending.length >= this.size) this.flush();
      else if (this.timer === undefined) {
        this.timer = this.scheduler.schedule(() => {
          this.timer = undefined;
          this.flush();
        }, this.time);
      }
    });
  }

  private cancelTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private flush(): void {
    this.cancelTimer();
    const members = this.pending;
    this.pending = [];
    if (members.length === 0) return;
    const signal = AbortSignal.any(members.map((m) => m.signal));
    const byMessage = new Map(members.map((m) => [m.message, m]));
    const context: BatchContext<T> = {
      signal,
      fail: (message, error) => {
        const member = byMessage.get(message);
        if (member === undefined) {
          throw new RangeError('consumeBatch: fail(message) must be given a message of this batch');
        }
        member.failure = { error };
      },
    };
    const succeed = () => {
      for (const m of members) {
        if (m.failure === undefined) m.resolve();
        else m.reject(m.failure.error);
      }
    };
    const failAll = (error: unknown) => {
      for (const m of members) m.reject(error);
    };
    let result: ObservableInput<unknown> | void;
    try {
      result = this.handler(
        members.map((m) => m.message),
        context,
      );
    } catch (error) {
      failAll(error);
      return;
    }
    if (result === undefined || result === null) {
      succeed();
      return;
    }
    const subscription = from(result).subscribe({ error: failAll, complete: succeed });
    signal.addEventListener('abort', () => subscription.unsubscribe(), { once: true });
  }
}

/**
 * Consumes a queue store in batches: up to `size` deliveries at once go to `handler` (a bulk
 * insert, a bulk API call), and each message of the batch is acknowledged or nacked on its own.
 * It is `consumeQueue` underneath, so every guarantee of `consume` holds per message (leases,
 * `keepAlive`, `timeout`, retries and dead letters, draining, outcomes).
 *
 * ```text
 * queue:      a b c d e                 size 2, time 10
 * batches:    [a,b]--ok [c,d]--(d failed) [e]  (e ran alone after 10 ms)
 * outcomes:   acked(a) acked(b) acked(c) nacked(d) acked(e)
 * ```
 *
 * **Backpressure.** At most `concurrency × size` messages are leased by this consumer; the
 * next ones are leased as a batch's messages are settled. A partial batch runs `time` ms after
 * its first message (with 0, with what arrived in the same turn).
 *
 * **Errors.** A handler's failure nacks every message of its batch (each an outcome
 * `'nacked'`); `context.fail(message, error)` nacks one while the rest are acknowledged. The
 * stream errors only when the store fails, as `consumeQueue`'s does.
 *
 * **Cancellation.** As `consumeQueue`: aborting `drain` drains (a partial batch still runs
 * after `time`), unsubscribing aborts the running batches' signals and releases their messages.
 * A message whose own signal aborts while it waits for its batch leaves the batch.
 *
 * @param store The queue to consume.
 * @param handler Handles a batch (see `BatchHandler`).
 * @param options `size` (required), `time`, `concurrency`, and `consumeQueue`'s other options.
 * @returns A cold Observable of per-message outcomes; each subscription is one consumer.
 * @throws TypeError or RangeError for a bad argument, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { consumeQueueBatch, MessageQueue } from 'sluice';
 *
 * const queue = new MessageQueue<number>({ maxAttempts: 1 });
 * for (const n of [1, 2, 3, 4, 5]) queue.enqueue(n);
 * const batches: number[][] = [];
 * const drain = new AbortController();
 * const outcomes = await lastValueFrom(
 *   consumeQueueBatch(queue, async (messages, { fail }) => {
 *     batches.push(messages.map((m) => m.payload));
 *     for (const m of messages) if (m.payload === 4) fail(m, new Error('rejected by the API'));
 *     if (queue.stats().visible === 0) drain.abort();
 *   }, { size: 2, drain: drain.signal }).pipe(toArray()),
 * );
 * assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
 * assert.deepEqual(outcomes.map((o) => `${o.message.payload}:${o.status}`), [
 *   '1:acked', '2:acked', '3:acked', '4:nacked', '5:acked',
 * ]);
 * await queue.close();
 * ```
 */
export function consumeQueueBatch<T>(
  store: QueueStore<T>,
  handler: BatchHandler<T>,
  options: ConsumeBatchOptions<T>,
): Observable<ConsumeOutcome<T>> {
  const where = 'consumeQueueBatch';
  checkFunction(where, 'handler', handler);
  const { size, time, concurrency, ...rest } = checkOptions<ConsumeBatchOptions<T>>(
    where,
    options,
    BATCH_OPTIONS,
  );
  const batchSize = checkCapacity(where, 'size', size, false);
  const wait = time === undefined ? 0 : checkDuration(where, 'time', time);
  const scheduler = checkScheduler<SchedulerLike>(where, rest.scheduler) ?? monotonicScheduler;
  let workers: number | Observable<number>;
  if (concurrency === undefined) workers = batchSize;
  else if (isObservable(concurrency)) {
    // a bad value passes unchanged, for consumeQueue's message to name it
    workers = concurrency.pipe(map((n) => (Number.isInteger(n) && n >= 0 ? n * batchSize : n)));
  } else workers = checkCapacity(where, 'concurrency', concurrency) * batchSize;
  const settings = { ...rest, scheduler, concurrency: workers };
  consumeQueue(store, () => undefined, settings); // checks the store and the shared options now
  return defer(() => {
    const batcher = new Batcher(handler, batchSize, wait, scheduler);
    return consumeQueue(store, (message, context) => batcher.join(message, context), settings);
  });
}
