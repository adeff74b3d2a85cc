import { describeHeaders } from '../queue/headersContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';
import { openRedisStore } from './redisStoreHarness.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  describeHeaders('RedisQueue (real redis-server)', openRedisStore(redis, 'headers'));
});
