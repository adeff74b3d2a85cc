import type { ReceiptRejection } from '../receiptRejection.js';

/**
 * A `consume` handler's lease was taken away while it ran, so it should stop: the message may
 * already be with another consumer. It is the `reason` of the handler's aborted `signal`, with
 * the delivery's `messageId` and why the lease went:
 * - `'released'`: the queue's `close()` released it after the grace period;
 * - otherwise a `keepAlive` extension was refused, with the store's reason (`'expired'`,
 *   `'acked'`, `'stale'`, `'unknown'`).
 *
 * The delivery's outcome is `{ status: 'lost', reason }` with the same reason; the queue
 * redelivers the message (or already has), so nothing is lost.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { NEVER, firstValueFrom } from 'rxjs';
 * import { LeaseLostError, MessageQueue } from 'sluice';
 *
 * const queue = new MessageQueue<string>();
 * queue.enqueue('report');
 * let reason: unknown;
 * const outcome = firstValueFrom(
 *   queue.consume((_message, { signal }) => {
 *     signal.addEventListener('abort', () => (reason = signal.reason));
 *     return NEVER; // a handler that would never finish
 *   }),
 * );
 * await Promise.resolve();
 * await queue.close({ grace: 0 }); // shutdown takes the lease back
 * assert.equal((await outcome).status, 'lost');
 * assert.ok(reason instanceof LeaseLostError);
 * assert.equal(reason.reason, 'released');
 * ```
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError' as const;
  /** The id of the message whose lease was lost. */
  readonly messageId: string;
  /** Why: `'released'` by `close()`, or the reason a `keepAlive` extension was refused. */
  readonly reason: ReceiptRejection;
  constructor(messageId: string, reason: ReceiptRejection) {
    super(
      reason === 'released'
        ? `consume: the queue closed and released the lease on message ${messageId}`
        : `consume: the lease on message ${messageId} was lost`,
    );
    this.messageId = messageId;
    this.reason = reason;
  }
}
