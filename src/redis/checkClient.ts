import { describe } from '../internal/validate.js';
import { jsonSerializer, type RedisQueueSerializer } from './codec.js';
import type { RedisQueueConnection } from './redisQueueOptions.js';

/**
 * The checks every `sluice/redis` constructor makes of what the caller hands it, written once:
 * an ioredis client (`call`, `duplicate`, `disconnect`), and an optional serializer.
 */
export function checkConnection(where: string, value: unknown): RedisQueueConnection {
  const connection = value as Partial<RedisQueueConnection> | undefined;
  if (
    connection === null ||
    typeof connection !== 'object' ||
    typeof connection.call !== 'function' ||
    typeof connection.duplicate !== 'function' ||
    typeof connection.disconnect !== 'function'
  ) {
    throw new TypeError(
      `${where}: connection must be a Redis client (an ioredis Redis instance), got ${describe(connection)}`,
    );
  }
  return connection as RedisQueueConnection;
}

/** The serializer given, checked, or JSON's when none was. */
export function checkSerializer<T>(where: string, value: unknown): RedisQueueSerializer<T> {
  if (value === undefined) return jsonSerializer<T>();
  const serializer = value as Partial<RedisQueueSerializer<T>> | null;
  if (
    serializer === null ||
    typeof serializer !== 'object' ||
    typeof serializer.serialize !== 'function' ||
    typeof serializer.deserialize !== 'function'
  ) {
    throw new TypeError(
      `${where}: serializer must be an object with serialize and deserialize functions, got ${describe(serializer)}`,
    );
  }
  return serializer as RedisQueueSerializer<T>;
}
