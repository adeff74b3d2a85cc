/**
 * An `atLeastOnce` delivery completed without emitting its ack: the attempt counts as failed
 * and is retried after the backoff, like one that raised an error. It is the `error` of the
 * retry event, and the `cause` of a `DeliveryFailedError` (or the `error` of a dead letter)
 * when it was the last attempt's fate. A delivery that is meant to succeed must emit a value.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { EMPTY, firstValueFrom, of } from 'rxjs';
 * import { atLeastOnce, NoAckError } from 'sluice';
 *
 * const failures: unknown[] = [];
 * const acked = await firstValueFrom(
 *   of('order-1').pipe(
 *     atLeastOnce((_message, { attempt }) => (attempt === 1 ? EMPTY : of('ok')), {
 *       backoff: 0,
 *       onRetry: (event) => failures.push(event.error),
 *     }),
 *   ),
 * );
 * assert.equal(acked.ack, 'ok');
 * assert.ok(failures[0] instanceof NoAckError);
 * assert.equal(failures[0].attempt, 1);
 * ```
 */
export class NoAckError extends Error {
  override readonly name = 'NoAckError' as const;
  /** The attempt that completed without an ack, from 1. */
  readonly attempt: number;
  constructor(attempt: number) {
    super(`atLeastOnce: delivery completed without an ack (attempt ${attempt})`);
    this.attempt = attempt;
  }
}
