/**
 * The Redis examples are code too: the ```typescript redis blocks of the doc comments under
 * src/redis/ and of docs/redis.md run here (spec/support/brokerDocBlocks.ts), each as its own
 * test against this file's private redis-server (REDIS_URL), after a FLUSHALL. A second one,
 * started with `--requirepass`, is at REDIS_AUTH_URL with the password in REDIS_PASSWORD.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { brokerDocBlocks } from '../support/brokerDocBlocks.js';
import { type RedisServer, startRedisServer } from './redisProcess.js';
import { describeRedis, useRedisServer } from './redisServer.js';

const { blocks, run } = brokerDocBlocks('redis');

describeRedis('Redis examples in the docs', () => {
  const redis = useRedisServer();
  const password = `doc-${process.pid}-secret`;
  let authServer: RedisServer | undefined;

  beforeAll(async () => {
    authServer = await startRedisServer(['--requirepass', password]);
  });
  afterAll(async () => {
    await authServer?.stop();
  });

  beforeEach(async () => {
    await redis.flush();
    process.env.REDIS_URL = redis.url;
    process.env.REDIS_AUTH_URL = authServer?.url;
    process.env.REDIS_PASSWORD = password;
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
