/**
 * The settings every handle of a Redis queue must agree on are stored in Redis by the first
 * handle and a handle that differs is refused, naming each difference; per-process settings
 * may differ.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions, RedisSettingsError } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from '../redis/redisServer.js';

describeRedis('RedisQueue: shared settings', () => {
  const redis = useRedisServer();
  let opened: RedisQueue<unknown>[] = [];

  beforeEach(async () => {
    await redis.flush();
  });
  afterEach(async () => {
    for (const queue of opened) await queue.close();
    opened = [];
  });

  function open(options: Partial<RedisQueueOptions<string>> = {}) {
    const queue = new RedisQueue<string>({ connection: redis.connect(), name: 'jobs', ...options });
    opened.push(queue as RedisQueue<unknown>);
    return queue;
  }

  it('stores the shared settings on first use', async () => {
    const queue = open({ maxAttempts: 3, deadLetter: { capacity: Number.POSITIVE_INFINITY } });
    await queue.stats();
    expect(await redis.connect().hgetall(queue.keys.settings)).toEqual({
      capacity: '10000',
      maxAttempts: '3',
      dedupWindow: '300000',
      'deadLetter.capacity': '-1',
    });
  });

  it('refuses a handle whose shared settings differ, naming every difference, on every call', async () => {
    const first = open({ maxAttempts: 3 });
    await first.enqueue('a');
    const other = open({ maxAttempts: 5, deadLetter: { capacity: 1 } });
    const refusal = await other.enqueue('b').then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refusal?.message).toBe(
      'RedisQueue: this handle\'s settings differ from those stored for queue "sluice:{jobs}" ' +
        '(every handle of a queue must agree on capacity, maxAttempts, dedupWindow, ' +
        'deadLetter.capacity): maxAttempts is 5 here, 3 in Redis; deadLetter.capacity is 1 ' +
        'here, 10000 in Redis. Use the stored settings, or change them for every handle ' +
        '(see "Shared settings" in docs/redis.md)',
    );
    expect(refusal).toBeInstanceOf(RedisSettingsError);
    expect((refusal as RedisSettingsError).differences).toEqual([
      'maxAttempts is 5 here, 3 in Redis',
      'deadLetter.capacity is 1 here, 10000 in Redis',
    ]);
    // nothing it asked was done, and every later call is refused too
    await expect(other.receive()).rejects.toBe(refusal);
    await expect(other.redrive()).rejects.toBe(refusal);
    expect(await first.stats()).toMatchObject({ visible: 1, enqueued: 1 });
  });

  it('per-process settings may differ between handles', async () => {
    const first = open({ visibilityTimeout: 1_000, overflow: 'drop', blockTime: 50 });
    await first.enqueue('a');
    const other = open({ visibilityTimeout: 60_000, overflow: 'error', consumer: 'other' });
    const [delivery] = await other.receive();
    expect(delivery?.payload).toBe('a');
  });

  it('a failed first call does not refuse the handle: the next call checks again', async () => {
    const connection = redis.connect();
    const queue = new RedisQueue<string>({ connection, name: 'jobs' });
    opened.push(queue as RedisQueue<unknown>);
    await connection.set(queue.keys.settings, 'not a hash');
    await expect(queue.stats()).rejects.toThrow(/RedisQueue: the Redis call failed: .*WRONGTYPE/);
    await connection.del(queue.keys.settings);
    expect(await queue.stats()).toMatchObject({ visible: 0 });
  });
});
