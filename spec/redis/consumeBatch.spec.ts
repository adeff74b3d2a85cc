import { lastValueFrom, take, toArray } from 'rxjs';
import { expect, it } from 'vitest';
import { RedisQueue } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('RedisQueue.consumeBatch', () => {
  const redis = useRedisServer();

  it('hands batches of up to size and acks each message once; a failed one is nacked alone', async () => {
    const connection = redis.connect();
    const queue = new RedisQueue<number>({ connection, name: 'batch-consume', maxAttempts: 1 });
    try {
      for (let i = 0; i < 50; i++) await queue.enqueue(i);
      const sizes: number[] = [];
      const outcomes = await lastValueFrom(
        queue
          .consumeBatch(
            async (messages, { fail }) => {
              sizes.push(messages.length);
              for (const m of messages) if (m.payload === 7) fail(m, new Error('seven'));
            },
            { size: 8, concurrency: 2 },
          )
          .pipe(take(50), toArray()),
      );
      expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(50);
      expect(outcomes.filter((o) => o.status === 'acked')).toHaveLength(49);
      expect(outcomes.find((o) => o.status !== 'acked')?.message.payload).toBe(7);
      expect(new Set(outcomes.map((o) => o.message.payload)).size).toBe(50);
      const stats = await queue.stats();
      expect(stats.acked).toBe(49);
      expect(stats.deadLettered).toBe(1);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
