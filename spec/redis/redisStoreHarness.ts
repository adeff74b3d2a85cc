import { RedisQueue } from '../../src/redis/index.js';
import type { OpenStore } from '../queue/storeContract.js';
import type { useRedisServer } from './redisServer.js';

/**
 * Opens `RedisQueue` handles for the store contract suites: one connection, a queue name unique
 * to each call (`<prefix>-<n>`), the lease clock and timers on the suite's manual clock, and
 * `peer()` as another handle on the same queue (another process).
 */
export function openRedisStore(
  redis: ReturnType<typeof useRedisServer>,
  prefix: string,
): OpenStore {
  let queues = 0;
  return (clock, options) => {
    const connection = redis.connect();
    const name = `${prefix}-${++queues}`;
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
  };
}
