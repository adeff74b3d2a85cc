/**
 * A consumer's handler ran past its `timeout` (`consumeQueue`, `queue.consume`,
 * `consumeQueueBatch`, `consumeAmqp`): its `signal` is aborted with this error as the reason,
 * its result is unsubscribed, and the delivery counts as failed with this error (nacked and
 * tried again, or dead-lettered on its last attempt, with this error as `lastError`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { NEVER } from 'rxjs';
 * import { TestScheduler } from 'rxjs/testing';
 * import { HandlerTimeoutError, MessageQueue } from 'sluice';
 *
 * new TestScheduler(assert.deepEqual).run(({ flush }) => {
 *   const queue = new MessageQueue<string>({ maxAttempts: 1 });
 *   queue.enqueue('report');
 *   const statuses: string[] = [];
 *   queue.consume(() => NEVER, { timeout: 50 }).subscribe((o) => statuses.push(o.status));
 *   flush(); // 50 virtual ms pass
 *   assert.deepEqual(statuses, ['nacked']);
 *   const letter = queue.deadLetters()[0];
 *   assert.ok(letter?.lastError instanceof HandlerTimeoutError);
 *   assert.equal(letter.lastError.timeout, 50);
 * });
 * ```
 */
export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError' as const;
  /** The id of the message whose handler timed out, when the message has one. */
  readonly messageId: string | undefined;
  /** The limit it went past, in milliseconds from the handler's start. */
  readonly timeout: number;
  constructor(where: string, messageId: string | undefined, timeout: number) {
    const id =
      messageId === undefined
        ? ''
        : ` for message ${JSON.stringify(messageId.length > 40 ? `${messageId.slice(0, 40)}…` : messageId)}`;
    super(`${where}: the handler${id} did not finish within its timeout of ${timeout} ms`);
    this.messageId = messageId;
    this.timeout = timeout;
  }
}
