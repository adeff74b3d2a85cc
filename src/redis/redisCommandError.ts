/**
 * A call to Redis failed: the connection was lost or closed, the server refused the command,
 * or a script raised an error. `operation` names the sluice call it served
 * (`'RedisQueue.ack'`, `'redisBroadcast.send'`, …) and `cause` is the client's own error.
 *
 * What it means for the data depends on the call, and is never a silent loss: a refused
 * `enqueue` or `send` did not store its message (send it again); a refused `ack` or `nack`
 * changed nothing (the lease runs out and the message is redelivered); a receive or a
 * broadcast receiver that fails with it errors its stream, and its deliveries stay leased
 * until their visibility timeout.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { RedisCommandError } from 'sluice/redis';
 *
 * const error = new RedisCommandError('RedisQueue.ack', new Error('Connection is closed.'));
 * assert.equal(error.name, 'RedisCommandError');
 * assert.equal(error.operation, 'RedisQueue.ack');
 * assert.equal(error.message, 'RedisQueue.ack: the Redis call failed: Connection is closed.');
 * ```
 */
export class RedisCommandError extends Error {
  override readonly name = 'RedisCommandError' as const;
  /** The sluice call the failed Redis call served, such as `'RedisQueue.enqueue'`. */
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${operation}: the Redis call failed: ${detail}`, { cause });
    this.operation = operation;
  }
}
