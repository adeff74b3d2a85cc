import { expect, it } from 'vitest';
import { RedisQueue } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from '../redis/redisServer.js';
import { traceAcross } from './otelHarness.js';

describeRedis('a trace across RedisQueue', () => {
  const redis = useRedisServer();

  it('the consumer span is a child of the producer span, and the handler work a child of it', async () => {
    const connection = redis.connect();
    const queue = new RedisQueue<string>({ connection, name: 'otel-trace' });
    try {
      const { tenant, producer, consumer, work } = await traceAcross(queue);
      expect(tenant).toBe('acme');
      expect(consumer.spanContext().traceId).toBe(producer.traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanId);
      expect(consumer.attributes).toMatchObject({
        'messaging.message.id': 'order-7',
        'sluice.delivery.attempt': 1,
        'sluice.job.outcome': 'done',
      });
      expect(work.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
