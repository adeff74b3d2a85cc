/**
 * The consumer running a handler was unsubscribed, so the handler should stop: it is the
 * `reason` of the handler's aborted `signal` in `consume` and `consumeQueue`, and in
 * `consumeAmqp` of `sluice/amqp` when that runs with a `timeout` (without one, its handlers
 * get the worker pool's signal, which aborts with the standard `AbortError`). The delivery is
 * given back uncounted, to be redelivered; it gets no outcome, since nobody is listening any
 * more. `where` names the consumer.
 *
 * A drain (aborting the consumer's own `signal`, or the queue's `close()`) is not an
 * unsubscribe: running handlers finish undisturbed.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { NEVER } from 'rxjs';
 * import { MessageQueue, UnsubscribedError } from 'sluice';
 *
 * const queue = new MessageQueue<string>();
 * queue.enqueue('job');
 * let reason: unknown;
 * const subscription = queue
 *   .consume((_message, { signal }) => {
 *     signal.addEventListener('abort', () => (reason = signal.reason));
 *     return NEVER;
 *   })
 *   .subscribe();
 * await Promise.resolve();
 * subscription.unsubscribe();
 * assert.ok(reason instanceof UnsubscribedError);
 * assert.equal(reason.where, 'consume');
 * assert.equal(queue.stats().visible, 1); // given back for the next consumer
 * ```
 */
export class UnsubscribedError extends Error {
  override readonly name = 'UnsubscribedError' as const;
  /** The consumer that was unsubscribed: `'consume'` or `'consumeAmqp'`. */
  readonly where: string;
  constructor(where: string) {
    super(`${where}: unsubscribed`);
    this.where = where;
  }
}
