/**
 * The options of `new RedisQueue()`, checked and with their defaults filled in (internal to
 * `sluice/redis`).
 * @module
 */
import { hostname } from 'node:os';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { OverflowHandler } from 'sluice';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkFunction,
  checkInteger,
  checkOneOf,
  checkOptions,
  checkScheduler,
  describe,
} from '../internal/validate.js';
import {
  type CommonQueueSettings,
  commonQueueSettings,
  QUEUE_DEFAULTS,
} from '../queue/queueFamily.js';
import { checkConnection, checkSerializer } from './checkClient.js';
import type { RedisQueueSerializer } from './codec.js';
import { type RedisQueueKeys, redisQueueKeys } from './keys.js';
import {
  REDIS_QUEUE_OPTIONS,
  type RedisQueueClock,
  type RedisQueueConnection,
  type RedisQueueOptions,
} from './redisQueueOptions.js';
import type { SharedSettings } from './sharedSettings.js';

/** The name errors of `RedisQueue` start with. */
export const NAME = 'RedisQueue';

/** Every setting of one `RedisQueue` handle, checked, defaults applied. */
export interface RedisQueueConfig<T> extends CommonQueueSettings<T> {
  readonly connection: RedisQueueConnection;
  readonly keys: RedisQueueKeys;
  readonly capacity: number;
  readonly overflow: 'block' | 'error' | 'drop';
  readonly onOverflow: OverflowHandler<T> | undefined;
  readonly serializer: RedisQueueSerializer<T>;
  readonly consumer: string;
  readonly clock: RedisQueueClock;
  readonly scheduler: SchedulerLike;
  readonly blockTime: number;
}

/** A `limit` option as the scripts take it: -1 for Infinity. */
export function limit(value: number): string {
  return value === Number.POSITIVE_INFINITY ? '-1' : String(value);
}

function checkConsumer(value: unknown): string {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new TypeError(`${NAME}: consumer must be a non-empty string, got ${describe(value)}`);
  }
  return (
    (value as string | undefined) ??
    `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  );
}

/**
 * Checks `options` (the connection and name first, then what every queue store takes, then
 * what only this one does), throwing `TypeError`/`RangeError` naming
 * the first bad one, and fills in the defaults.
 */
export function redisQueueConfig<T>(options: RedisQueueOptions<T>): RedisQueueConfig<T> {
  const opts = checkOptions<RedisQueueOptions<T>>(NAME, options, REDIS_QUEUE_OPTIONS);
  const connection = checkConnection(NAME, opts.connection);
  if (typeof opts.name !== 'string') {
    throw new TypeError(`${NAME}: name must be a non-empty string, got ${describe(opts.name)}`);
  }
  const keys = redisQueueKeys(opts.name, opts.prefix === undefined ? 'sluice:' : opts.prefix);
  const capacity =
    opts.capacity === undefined
      ? QUEUE_DEFAULTS.capacity
      : checkCapacity(NAME, 'capacity', opts.capacity);
  const overflow =
    opts.overflow === undefined
      ? 'block'
      : checkOneOf(NAME, 'overflow', opts.overflow, ['block', 'error', 'drop'] as const);
  const onOverflow = checkFunction<OverflowHandler<T>>(NAME, 'onOverflow', opts.onOverflow, true);
  const common = commonQueueSettings<T>(NAME, opts);
  const serializer = checkSerializer<T>(NAME, opts.serializer);
  const consumer = checkConsumer(opts.consumer);
  const clock =
    opts.clock === undefined
      ? 'redis'
      : checkOneOf(NAME, 'clock', opts.clock, ['redis', 'scheduler'] as const);
  // Timers run on the monotonic clock; a lease clock shared by processes (`clock:
  // 'scheduler'` without a scheduler of its own) cannot be one process's monotonic time.
  const scheduler =
    checkScheduler<SchedulerLike>(NAME, opts.scheduler) ??
    (clock === 'scheduler' ? asyncScheduler : monotonicScheduler);
  const blockTime =
    opts.blockTime === undefined ? 1_000 : checkInteger(NAME, 'blockTime', opts.blockTime, 1);
  return {
    ...common,
    connection,
    keys,
    capacity,
    overflow,
    onOverflow,
    serializer,
    consumer,
    clock,
    scheduler,
    blockTime,
  };
}

/** The settings every script call carries, after the clock: attempts, lease, window, dead cap. */
export function scriptSettings<T>(config: RedisQueueConfig<T>): string[] {
  return [
    limit(config.maxAttempts),
    limit(config.visibilityTimeout),
    limit(config.dedupWindow),
    limit(config.deadCapacity),
  ];
}

/** The settings every handle of the queue must agree on, as stored in Redis. */
export function sharedSettings<T>(config: RedisQueueConfig<T>): SharedSettings {
  return {
    capacity: limit(config.capacity),
    maxAttempts: limit(config.maxAttempts),
    dedupWindow: limit(config.dedupWindow),
    'deadLetter.capacity': limit(config.deadCapacity),
  };
}
