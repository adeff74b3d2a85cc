/**
 * A message refused by a queue's size limits: its payload is larger than `maxPayloadBytes`, or
 * its id is longer than `maxIdLength`. Nothing was enqueued.
 *
 * It carries only numbers: which limit, the limit and the size, never the payload or the id, so
 * it is safe to log when payloads and ids come from users.
 *
 * **Backpressure.** Not a backpressure signal: the same message is refused again; split it, or
 * store large bodies elsewhere and enqueue a reference.
 *
 * **Errors.** A `RangeError`: `MessageQueue.enqueue` throws it, `send` and `RedisQueue`'s calls
 * reject with it.
 *
 * **Cancellation.** Nothing to cancel: the refusal happens before anything is stored.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { MessageQueue, MessageTooLargeError } from 'sluice';
 *
 * const queue = new MessageQueue<string>({ maxPayloadBytes: 8 });
 * assert.throws(() => queue.enqueue('x'.repeat(12)), (error) => {
 *   assert.ok(error instanceof MessageTooLargeError);
 *   assert.equal(error.limit, 'maxPayloadBytes');
 *   assert.equal(error.size, 12);
 *   assert.equal(error.max, 8);
 *   return true;
 * });
 * await queue.close();
 * ```
 */
export class MessageTooLargeError extends RangeError {
  override readonly name = 'MessageTooLargeError' as const;

  /**
   * @param where The call that refused the message, e.g. `MessageQueue.enqueue`.
   * @param limit The limit exceeded: `'maxPayloadBytes'` (bytes of the payload) or `'maxIdLength'` (characters of the id).
   * @param size The payload's size in bytes, or the id's length in characters.
   * @param max The limit's value.
   */
  constructor(
    where: string,
    readonly limit: 'maxPayloadBytes' | 'maxIdLength',
    readonly size: number,
    readonly max: number,
  ) {
    super(
      limit === 'maxPayloadBytes'
        ? `${where}: payload is at least ${size} bytes, more than maxPayloadBytes (${max})`
        : `${where}: id is ${size} characters long, more than maxIdLength (${max})`,
    );
  }
}
