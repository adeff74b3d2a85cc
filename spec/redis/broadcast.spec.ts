import { redisBroadcast } from '../../src/redis/index.js';
import { describeBroadcast } from '../channels/broadcastSemantics.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describeRedis('redisBroadcast', () => {
  const redis = useRedisServer();
  let channels = 0;

  describeBroadcast('redisBroadcast (real redis-server)', (capacity, options) => {
    const connection = redis.connect();
    const name = `broadcast-${++channels}`;
    const [tx, rx] = redisBroadcast<number>({ connection, name, capacity, ...options });
    return {
      send: (value) => tx.send(value),
      close: () => tx.close(),
      fail: async (error) => {
        tx.error(error);
        await tx.close().catch(() => {});
      },
      rx,
      // A receiver takes its place with a read on this connection: a PING after it answers after it.
      joined: async () => {
        await connection.ping();
      },
      retained: () => connection.xlen(`sluice:{${name}}:b`),
      dispose: async () => {
        await tx.close().catch(() => {});
        connection.disconnect();
      },
    };
  });
});
