import { RedisQueue } from '../../src/redis/index.js';
import { describeSchedules } from '../queue/scheduleContract.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('RedisQueue', () => {
  const redis = useRedisServer();
  let queues = 0;

  describeSchedules('RedisQueue (real redis-server, ticks on the test clock)', (clock, options) => {
    const connection = redis.connect();
    const name = `schedule-${++queues}`;
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
  });
});
