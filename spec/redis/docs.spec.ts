/**
 * The Redis examples are code too: the ```typescript redis blocks of the doc comments under
 * src/redis/ and of docs/redis.md run here (spec/support/brokerDocBlocks.ts), each as its own
 * test against this file's private redis-server (REDIS_URL), after a FLUSHALL.
 */
import { beforeEach, expect, it } from 'vitest';
import { brokerDocBlocks } from '../support/brokerDocBlocks.js';
import { describeRedis, useRedisServer } from './redisServer.js';

const { blocks, run } = brokerDocBlocks('redis');

describeRedis('Redis examples in the docs', () => {
  const redis = useRedisServer();

  beforeEach(async () => {
    await redis.flush();
    process.env.REDIS_URL = redis.url;
  });

  it('finds the examples it is meant to run', () => {
    expect(blocks.length).toBeGreaterThan(3);
  });

  for (const block of blocks) {
    it(`${block.file} block at line ${block.line} runs`, async () => {
      await run(block);
    });
  }
});
