import { describeSchedules } from '../queue/scheduleContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';
import { openRedisStore } from './redisStoreHarness.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  describeSchedules(
    'RedisQueue (real redis-server, ticks on the test clock)',
    openRedisStore(redis, 'schedule'),
  );
});
