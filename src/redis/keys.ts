/**
 * Key names of a `RedisQueue` (re-exported by `src/redis/index.ts`).
 * @module
 */

/** Where one queue keeps its data in Redis. Every key shares the hash tag `{name}`. */
export interface RedisQueueKeys {
  /** `<prefix>{<name>}`: every other key starts with it. */
  readonly base: string;
  /** Stream of visible and in-flight messages (each entry holds only a pointer, `k`). */
  readonly stream: string;
  /** The consumer group on `stream` that every process of the queue reads through. */
  readonly group: string;
  /** Sorted set of leases: score = deadline in ms. */
  readonly leases: string;
  /** Sorted set of delayed messages: score = due time in ms. */
  readonly delayed: string;
  /** Stream of dead letters. */
  readonly dead: string;
  /** Hash of counters (`enqueued`, `acked`, ...). */
  readonly counters: string;
  /** Hash indexing the dead letters: caller's id -> stream entry ids of its dead letters. */
  readonly deadIndex: string;
  /** Hash of the settings every handle of the queue must agree on (stored on first use). */
  readonly settings: string;
  /** Sorted set of the ready messages whose priority is not 0: score = -priority. */
  readonly priority: string;
  /** Every key above that a script declares, in the order the scripts expect them. */
  readonly declared: readonly string[];
  /** Hash of one message, by its internal sequence number. */
  message(seq: string | number): string;
  /** The deduplication record of a caller-given id. */
  id(id: string): string;
  /**
   * Hash of the acknowledgements of messages without a caller's id whose sequence numbers
   * share all but their last two digits (what a late receipt is answered from, for a minute).
   */
  acked(seq: string | number): string;
  /** List of one message group's messages in order, its head first. */
  messageGroup(name: string): string;
}

function checkPart(where: string, name: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || /[{}]/.test(value)) {
    const expected = allowEmpty ? 'a string without braces' : 'a non-empty string without braces';
    const given = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new TypeError(`${where}: ${name} must be ${expected}, got ${given}`);
  }
  return value;
}

/**
 * The Redis keys of the queue `name` under `prefix`: `<prefix>{<name>}:s` (stream),
 * `:l` (leases), `:d` (delayed), `:x` (dead letters), `:xi` (dead-letter index), `:c`
 * (counters), `:cfg` (shared settings), `:p` (ready messages by priority), `:m:<seq>` (messages),
 * `:a:<seq less its last two digits>` (acknowledgements of messages without an id), `:i:<id>` (deduplication) and `:g:<group>` (a message group's order). The braces are a Redis Cluster hash tag: all of a queue's keys
 * live in one slot, so its Lua scripts run on Redis Cluster too. Different names or prefixes
 * never share a key, so several queues and applications can share one Redis.
 *
 * **Backpressure.** Not applicable: a pure function.
 *
 * **Errors.** `TypeError` when `name` is empty, or `name` or `prefix` contains a brace.
 *
 * **Cancellation.** Not applicable.
 *
 * @example
 * ```typescript redis
 * import assert from 'node:assert/strict';
 * import { redisQueueKeys } from 'sluice/redis';
 *
 * const keys = redisQueueKeys('orders', 'shop:');
 * assert.equal(keys.stream, 'shop:{orders}:s');
 * assert.equal(keys.dead, 'shop:{orders}:x');
 * assert.equal(keys.id('order-42'), 'shop:{orders}:i:order-42');
 * assert.equal(keys.acked(1234), 'shop:{orders}:a:12');
 * ```
 *
 * @param name The queue's name.
 * @param prefix Put before every key. @default 'sluice:'
 * @returns The key names.
 */
export function redisQueueKeys(name: string, prefix = 'sluice:'): RedisQueueKeys {
  const where = 'redisQueueKeys';
  checkPart(where, 'name', name, false);
  checkPart(where, 'prefix', prefix, true);
  const base = `${prefix}{${name}}`;
  const stream = `${base}:s`;
  const leases = `${base}:l`;
  const delayed = `${base}:d`;
  const dead = `${base}:x`;
  const counters = `${base}:c`;
  const deadIndex = `${base}:xi`;
  const settings = `${base}:cfg`;
  const priority = `${base}:p`;
  return Object.freeze({
    base,
    stream,
    group: 'sluice',
    leases,
    delayed,
    dead,
    counters,
    deadIndex,
    settings,
    priority,
    declared: Object.freeze([
      stream,
      leases,
      delayed,
      dead,
      counters,
      deadIndex,
      settings,
      priority,
    ]),
    message: (seq: string | number) => `${base}:m:${seq}`,
    id: (id: string) => `${base}:i:${id}`,
    acked: (seq: string | number) => `${base}:a:${String(seq).slice(0, -2) || '0'}`,
    messageGroup: (name: string) => `${base}:g:${name}`,
  });
}
