/**
 * `sluice/redis`: the message queue and the broadcast channel on Redis Streams, shared by many
 * processes. A separate entry point, so that the core package never loads a Redis client:
 * this one expects an ioredis connection from the caller (ioredis is an optional peer
 * dependency of sluice).
 * @module
 */
export type { RedisQueueSerializer } from './codec.js';
export { jsonSerializer } from './codec.js';
export type { RedisQueueKeys } from './keys.js';
export { redisQueueKeys } from './keys.js';
export type {
  RedisBroadcastOptions,
  RedisBroadcastReceiver,
  RedisBroadcastSender,
} from './redisBroadcast.js';
export { redisBroadcast } from './redisBroadcast.js';
export { RedisCommandError } from './redisCommandError.js';
export { RedisQueue } from './redisQueue.js';
export type {
  RedisQueueClock,
  RedisQueueConnection,
  RedisQueueOptions,
} from './redisQueueOptions.js';
export { RedisSettingsError } from './redisSettingsError.js';
