import { describe, expect, it } from 'vitest';
import { RedisQueue } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('RedisQueue: memory kept for finished messages', () => {
  const redis = useRedisServer();
  let queues = 0;

  describe('with dedupWindow: Infinity', () => {
    it('a message without a caller id keeps its record at most a minute after its ack; one with an id keeps it to deduplicate', async () => {
      const connection = redis.connect();
      const queue = new RedisQueue<string>({
        connection,
        name: `retention-${++queues}`,
        dedupWindow: Number.POSITIVE_INFINITY,
      });
      try {
        const generated = await queue.enqueue('anonymous');
        await queue.enqueue('named', { id: 'order-1' });
        const deliveries = await queue.receive({ max: 2 });
        expect(deliveries).toHaveLength(2);
        for (const delivery of deliveries)
          expect(await queue.ack(delivery.receipt)).toEqual({ ok: true });
        expect(generated.ok && generated.id).toMatch(/^#\d+$/);
        const seq = (generated.ok ? generated.id : '').slice(1);
        const ttl = await connection.pttl(queue.keys.message(seq));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
        const named = deliveries.find((d) => d.id === 'order-1');
        expect(named).toBeDefined();
        expect(await queue.enqueue('again', { id: 'order-1' })).toMatchObject({
          ok: false,
          reason: 'duplicate',
        });
        // a resent ack of the message without an id still gets its true answer within that minute
        const anonymous = deliveries.find((d) => d.id === generated.id);
        expect(await queue.ack(anonymous!.receipt)).toEqual({ ok: false, reason: 'acked' });
      } finally {
        await queue.close();
        connection.disconnect();
      }
    });
  });
});
