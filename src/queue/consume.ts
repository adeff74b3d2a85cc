import type { Observable } from 'rxjs';
import { isPullable, PullObservable, pull } from '../internal/demand.js';
import { checkFunction, describe } from '../internal/validate.js';
import { workerPool } from '../operators/workerPool.js';
import { consumePlan } from './consumeSettings.js';
import type { ConsumeOptions, ConsumeOutcome, MessageHandler } from './consumeTypes.js';
import { handleDelivery } from './handleDelivery.js';
import { pollStore } from './pollStore.js';
import type { QueueStore } from './store.js';
import type { Delivery } from './types.js';

export type {
  ConsumeContext,
  ConsumeOptions,
  ConsumeOutcome,
  MessageHandler,
} from './consumeTypes.js';

/**
 * Runs a worker pool over a queue store: leases one delivery per free worker, runs `handler` on
 * it, acks on success, nacks on error or timeout, and emits the outcome of each delivery. This
 * is `queue.consume(handler)` for any `QueueStore`, including an asynchronous one; the in-memory
 * `MessageQueue` is pulled directly (no polling), any other store by `receive` long polls.
 *
 * ```text
 * queue:      a b c                     concurrency 2
 * handlers:   [a--ok] [c-ok]
 *               [b---throws]
 * outcomes:   ---acked(a)--nacked(b)-acked(c)
 * ```
 *
 * **Backpressure.** A delivery is leased only when a worker is free (the demand protocol into
 * `workerPool`), so at most `concurrency` messages are in flight for this consumer; the rest
 * stay visible to other consumers. Outcomes are emitted as handlers finish, never buffered.
 *
 * **Errors.** A handler's failure is an outcome (`'nacked'`), never an error of the stream; a
 * refused ack or nack is an outcome too (`'lost'`). The stream errors only when the store itself
 * fails (a rejected or thrown store call) or a `backoff` function throws. When settling a delivery
 * fails (`ack`, `nack`, `extend`, `backoff`), the other running handlers are aborted and
 * their deliveries released; when leasing fails (`receive`), the handlers already running finish
 * and are settled first. A delivery is settled once its handler's subscription is torn down
 * (its `finalize` has run), and a worker takes the next delivery only after that.
 *
 * **A handler that never settles** cannot hold a worker or a message forever: without
 * `keepAlive` it is stopped when its lease runs out (outcome `'lost'`, reason `'expired'`),
 * with `keepAlive` when its `timeout` (default 10 leases) runs out (outcome `'nacked'` with a
 * `HandlerTimeoutError`); either way the worker moves on, and after `maxAttempts` such
 * deliveries the message is a dead letter.
 *
 * **Cancellation.** Aborting `drain` drains: no new deliveries, running handlers finish and
 * are settled, then the stream completes. `close()` on the queue drains the same way.
 * Unsubscribing stops at once: each running handler's signal is aborted and its delivery is
 * released back to the queue without counting an attempt (if the store fails to release, the
 * lease simply runs out: nothing is lost).
 *
 * @param store The queue to consume: a `MessageQueue` or another `QueueStore`.
 * @param handler Handles one delivery (see `MessageHandler`).
 * @param options `concurrency`, `drain`, `timeout`, `keepAlive`, `backoff`, `scheduler`, `pollWait`, `instrument`.
 * @returns A cold Observable of outcomes; each subscription is one consumer.
 * @throws TypeError or RangeError for a bad argument, naming it (also for an option given
 *   together with its deprecated alias: `drain` and `signal`, `backoff` and `retryDelay`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { consumeQueue, MessageQueue } from 'sluice';
 *
 * const queue = new MessageQueue<number>({ maxAttempts: 1 });
 * for (const n of [1, 2, 3]) queue.enqueue(n);
 * const drain = new AbortController();
 * const outcomes = lastValueFrom(
 *   consumeQueue(queue, async (message) => {
 *     if (message.payload === 2) throw new Error('bad input');
 *     if (message.payload === 3) drain.abort(); // stop after this one
 *   }, { drain: drain.signal }).pipe(toArray()),
 * );
 * const statuses = (await outcomes).map((o) => `${o.message.payload}:${o.status}`);
 * assert.deepEqual(statuses, ['1:acked', '2:nacked', '3:acked']);
 * assert.equal(queue.deadLetters()[0]?.payload, 2);
 * await queue.close();
 * ```
 */
export function consumeQueue<T>(
  store: QueueStore<T>,
  handler: MessageHandler<T>,
  options?: ConsumeOptions<T>,
): Observable<ConsumeOutcome<T>> {
  const where = 'consumeQueue';
  if (store === null || typeof store !== 'object' || typeof store.ack !== 'function') {
    throw new TypeError(`${where}: store must be a QueueStore, got ${describe(store)}`);
  }
  checkFunction(where, 'handler', handler);
  const { concurrency, drain, settings } = consumePlan(where, store, options);
  const source = isPullable<Delivery<T>>(store)
    ? new PullObservable<Delivery<T>>((sink) => store[pull](sink))
    : new PullObservable<Delivery<T>>((sink) => pollStore(store, sink, settings));
  return source.pipe(
    workerPool<Delivery<T>, ConsumeOutcome<T>>(
      (message, context) => handleDelivery(store, handler, message, context.workerId, settings),
      { concurrency, drain },
    ),
  );
}
