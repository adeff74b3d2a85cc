import { describeGroups } from '../queue/groupsContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';
import { openRedisStore } from './redisStoreHarness.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  describeGroups(
    'RedisQueue (real redis-server, lease clock = the test clock)',
    openRedisStore(redis, 'groups'),
  );
});
