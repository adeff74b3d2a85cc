/**
 * A `RedisQueue` handle was opened with settings that differ from those its queue keeps in
 * Redis. Every handle of a queue, in every process, must agree on `capacity`, `maxAttempts`,
 * `dedupWindow` and `deadLetter.capacity`: the first handle stores them, and a handle that
 * disagrees is refused on its first call and on every call after it, before anything is
 * changed in Redis. `differences` lists each setting that differs, as
 * `"<name> is <here> here, <stored> in Redis"`; `queue` is the queue's base key.
 *
 * Use the stored settings, or change them for every handle (see "Shared settings" in
 * `docs/redis.md`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { RedisSettingsError } from 'sluice/redis';
 *
 * const error = new RedisSettingsError('RedisQueue', 'sluice:{jobs}', ['maxAttempts'], [
 *   'maxAttempts is 5 here, 3 in Redis',
 * ]);
 * assert.equal(error.name, 'RedisSettingsError');
 * assert.deepEqual(error.differences, ['maxAttempts is 5 here, 3 in Redis']);
 * ```
 */
export class RedisSettingsError extends Error {
  override readonly name = 'RedisSettingsError' as const;
  /** The queue's base key in Redis, such as `'sluice:{jobs}'`. */
  readonly queue: string;
  /** One line per setting that differs: `"<name> is <here> here, <stored> in Redis"`. */
  readonly differences: readonly string[];
  constructor(
    where: string,
    queue: string,
    shared: readonly string[],
    differences: readonly string[],
  ) {
    super(
      `${where}: this handle's settings differ from those stored for queue ${JSON.stringify(queue)} ` +
        `(every handle of a queue must agree on ${shared.join(', ')}): ` +
        `${differences.join('; ')}. Use the stored settings, or change them for every handle ` +
        `(see "Shared settings" in docs/redis.md)`,
    );
    this.queue = queue;
    this.differences = Object.freeze([...differences]);
  }
}
