/**
 * Payload and error encoding of `RedisQueue` (machinery; `jsonSerializer` and the serializer
 * type are re-exported by `src/redis/index.ts`).
 * @module
 */
import { describe } from '../internal/validate.js';

/**
 * How payloads become the strings stored in Redis, and back. `serialize` runs at enqueue, in
 * the producer's process; `deserialize` at delivery, in the consumer's.
 *
 * `serialize` should throw (any error) for a payload it cannot represent faithfully; the queue
 * rethrows it as a `TypeError` naming the payload, and nothing is enqueued. A `deserialize`
 * that throws marks the stored entry as corrupt: it is dead-lettered with the reason, never
 * handed to a consumer.
 */
export interface RedisQueueSerializer<T> {
  /** The payload as a string; throws for a payload it cannot represent faithfully. */
  serialize(payload: T): string;
  /** The payload back from its string; throws for a string it cannot read. */
  deserialize(text: string): T;
}

function kindOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'bigint':
      return 'a BigInt';
    case 'undefined':
      return 'undefined';
    case 'number':
      return Number.isFinite(value) ? undefined : `${value} (not finite)`;
    case 'object':
      if (value instanceof Map) return 'a Map';
      if (value instanceof Set) return 'a Set';
      if (value instanceof WeakMap || value instanceof WeakSet) return 'a weak collection';
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The default serializer: JSON, made strict. `JSON.stringify` silently turns some values into
 * something else (a function or a symbol property disappears, `NaN` becomes `null`, a `Map`
 * becomes `{}`) or fails with a message that does not say where. This one throws instead,
 * naming the property: a BigInt, a function, a symbol, a non-finite number, a Map or Set, a
 * cycle, or `undefined` as the whole payload. `undefined` inside an object is dropped, as JSON
 * does (the property reads back as `undefined`); a `Date` becomes its ISO string (via
 * `toJSON`), so it comes back as a string.
 *
 * @example
 * ```typescript redis
 * import assert from 'node:assert/strict';
 * import { jsonSerializer } from 'sluice/redis';
 *
 * const json = jsonSerializer<{ total: number; items: string[] }>();
 * const text = json.serialize({ total: 3, items: ['a'] });
 * assert.deepEqual(json.deserialize(text), { total: 3, items: ['a'] });
 * assert.throws(() => json.serialize({ total: 3n } as never), /"total" is a BigInt/);
 * ```
 *
 * @returns A `RedisQueueSerializer` for JSON payloads.
 */
export function jsonSerializer<T>(): RedisQueueSerializer<T> {
  return {
    serialize(payload: T): string {
      const top = kindOf(payload);
      if (top !== undefined) throw new TypeError(`the payload is ${top}`);
      const text = JSON.stringify(payload, function (this: unknown, key: string, value: unknown) {
        if (value === undefined && Array.isArray(this)) {
          throw new TypeError(`element ${key} is undefined (JSON would store null)`);
        }
        if (value === undefined) return value;
        const bad = kindOf(value);
        if (bad !== undefined) {
          throw new TypeError(key === '' ? `the payload is ${bad}` : `"${key}" is ${bad}`);
        }
        return value;
      });
      if (typeof text !== 'string') throw new TypeError('the payload has no JSON form');
      return text;
    },
    deserialize(text: string): T {
      return JSON.parse(text) as T;
    },
  };
}

/** Turns a serializer's failure into the TypeError `enqueue` rejects with. */
export function serializeOrThrow<T>(
  where: string,
  serializer: RedisQueueSerializer<T>,
  payload: T,
): string {
  let text: unknown;
  try {
    text = serializer.serialize(payload);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TypeError(
      `${where}: payload must be serialisable by the queue's serializer, got ${describe(payload)} (${detail})`,
      { cause: error },
    );
  }
  if (typeof text !== 'string') {
    throw new TypeError(
      `${where}: serializer.serialize must return a string, got ${describe(text)} for payload ${describe(payload)}`,
    );
  }
  return text;
}

/**
 * A `nack` error as stored in Redis: an Error keeps its name and message (not its stack, nor
 * its class), any other value its JSON form, or its `String()` when it has none. `''` is
 * `undefined`.
 */
export function encodeError(error: unknown): string {
  if (error === undefined) return '';
  if (error instanceof Error) {
    return JSON.stringify({ e: { name: error.name, message: error.message } });
  }
  try {
    const text = JSON.stringify({ v: error });
    if (text !== undefined) return text;
  } catch {
    // falls through to its string form
  }
  return JSON.stringify({ s: String(error) });
}

/** The reverse of `encodeError`: an Error with the same name and message, or the value. */
export function decodeError(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as {
      e?: { name?: string; message?: string };
      v?: unknown;
      s?: string;
    };
    if (parsed.e !== undefined) {
      const error = new Error(parsed.e.message ?? '');
      if (parsed.e.name !== undefined && parsed.e.name !== 'Error') {
        Object.defineProperty(error, 'name', { value: parsed.e.name, configurable: true });
      }
      return error;
    }
    if ('v' in parsed) return parsed.v;
    return parsed.s;
  } catch {
    return text;
  }
}
