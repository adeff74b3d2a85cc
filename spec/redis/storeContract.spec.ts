import { describeQueueStore } from '../queue/storeContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';
import { openRedisStore } from './redisStoreHarness.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  describeQueueStore(
    'RedisQueue (real redis-server, lease clock = the test clock)',
    openRedisStore(redis, 'contract'),
  );
});
