import { RedisQueue } from '../../src/redis/index.js';
import { describeQueueStore } from '../queue/storeContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  let queues = 0;

  describeQueueStore(
    'RedisQueue (real redis-server, lease clock = the test clock)',
    (clock, options) => {
      const connection = redis.connect();
      const name = `contract-${++queues}`;
      const open = () =>
        new RedisQueue<string>({
          connection,
          name,
          clock: 'scheduler',
          scheduler: clock,
          ...options,
        });
      const handles = [open()];
      return {
        store: handles[0]!,
        clock,
        peer: () => {
          const handle = open();
          handles.push(handle);
          return handle;
        },
        dispose: async () => {
          for (const handle of handles) await handle.close();
          connection.disconnect();
        },
      };
    },
  );
});
