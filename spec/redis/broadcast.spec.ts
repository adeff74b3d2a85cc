import { firstValueFrom, toArray } from 'rxjs';
import { ChannelClosedError } from 'sluice';
import { describe, expect, it } from 'vitest';
import { redisBroadcast } from '../../src/redis/index.js';
import { describeBroadcast } from '../channels/broadcastSemantics.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('redisBroadcast', () => {
  const redis = useRedisServer();
  let channels = 0;

  describeBroadcast('redisBroadcast (real redis-server)', (capacity, options) => {
    const connection = redis.connect();
    const name = `broadcast-${++channels}`;
    const [tx, rx] = redisBroadcast<number>({ connection, name, capacity, ...options });
    return {
      send: (value) => tx.send(value),
      close: () => tx.close(),
      fail: async (error) => {
        tx.error(error);
        await tx.close().catch(() => {});
      },
      rx,
      // A receiver takes its place with a read on this connection: a PING after it answers after it.
      joined: async () => {
        await connection.ping();
      },
      retained: () => connection.xlen(`sluice:{${name}}:b`),
      dispose: async () => {
        await tx.close().catch(() => {});
        connection.disconnect();
      },
    };
  });
});

describe('redisBroadcast: arguments', () => {
  const connection = { call: async () => null, duplicate: () => connection, disconnect: () => {} };
  it.each([
    [
      { connection: undefined, name: 'n', capacity: 1 },
      TypeError,
      'redisBroadcast: connection must be a Redis client (an ioredis Redis instance), got undefined',
    ],
    [
      { connection, name: '', capacity: 1 },
      TypeError,
      'redisBroadcast: name must be a non-empty string without braces, got ""',
    ],
    [
      { connection, name: 'a{b}', capacity: 1 },
      TypeError,
      'redisBroadcast: name must be a non-empty string without braces, got "a{b}"',
    ],
    [
      { connection, name: 'n', capacity: 0 },
      RangeError,
      'redisBroadcast: capacity must be a whole number >= 1, got 0',
    ],
    [
      { connection, name: 'n', capacity: Number.POSITIVE_INFINITY },
      RangeError,
      'redisBroadcast: capacity must be a whole number >= 1, got Infinity',
    ],
    [
      { connection, name: 'n', capacity: 1, lag: 'drop' },
      TypeError,
      `redisBroadcast: lag must be one of 'skip', 'error', got "drop"`,
    ],
    [
      { connection, name: 'n', capacity: 1, onLag: 3 },
      TypeError,
      'redisBroadcast: onLag must be a function, got 3',
    ],
    [{ connection, name: 'n', capacity: 1, blockTime: 0 }, RangeError, 'redisBroadcast: blockTime'],
    [
      { connection, name: 'n', capacity: 1, serializer: {} },
      TypeError,
      'redisBroadcast: serializer must be an object with serialize and deserialize functions',
    ],
  ])('refuses %o at the call, naming the option', (options, kind, message) => {
    expect(() => redisBroadcast(options as never)).toThrow(kind);
    expect(() => redisBroadcast(options as never)).toThrow(message);
  });
});

describeRedis('redisBroadcast: what cannot be sent or read', () => {
  const redis = useRedisServer();

  it('send refuses a payload the serializer cannot store; a failed next() rejects close()', async () => {
    const connection = redis.connect();
    const [tx] = redisBroadcast<unknown>({ connection, name: 'refused', capacity: 2 });
    await expect(tx.send(10n)).rejects.toThrow(TypeError);
    tx.next(Symbol('x'));
    await expect(tx.close()).rejects.toThrow(TypeError);
    expect(tx.isClosed).toBe(true);
    await expect(tx.send(1)).rejects.toMatchObject({ name: 'ChannelClosedError', value: 1 });
  });

  it('a message the serializer cannot read fails the receiver with a TypeError naming it', async () => {
    const connection = redis.connect();
    const [, rx] = redisBroadcast<number>({ connection, name: 'corrupt', capacity: 2 });
    const ended = firstValueFrom(rx.pipe(toArray())).then(
      () => undefined,
      (e: unknown) => e,
    );
    await connection.ping();
    await connection.hincrby('sluice:{corrupt}:bm', 'seq', 1);
    await connection.xadd('sluice:{corrupt}:b', '0-1', 'p', '{not json');
    const error = await ended;
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/redisBroadcast.receive: message 1 has a payload/);
  });

  it('a closed sender handle refuses sends from this process at once', async () => {
    const connection = redis.connect();
    const [tx] = redisBroadcast<number>({ connection, name: 'closed-handle', capacity: 2 });
    await tx.close();
    await tx.close(); // idempotent
    await expect(tx.send(5)).rejects.toBeInstanceOf(ChannelClosedError);
    // another process's sender learns it from Redis
    const [other] = redisBroadcast<number>({ connection, name: 'closed-handle', capacity: 2 });
    await expect(other.send(6)).rejects.toMatchObject({ name: 'ChannelClosedError', value: 6 });
    expect(other.isClosed).toBe(true);
  });
});
