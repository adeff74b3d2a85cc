/**
 * The options of `new MessageQueue()`, checked and with their defaults filled in (internal to
 * the queue folder), as `redisQueueConfig` does for `RedisQueue`.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import { bufferConfig } from '../internal/policyBuffer.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import { checkOptions, checkScheduler } from '../internal/validate.js';
import type { CoreConfig } from './coreConfig.js';
import { QUEUE_OPTIONS } from './optionNames.js';
import { commonQueueSettings, QUEUE_DEFAULTS } from './queueFamily.js';
import type { MessageQueueOptions } from './types.js';

/** Every setting of one `MessageQueue`: its engine's, and the limits the queue itself checks. */
export interface MessageQueueConfig<T> {
  readonly core: CoreConfig<T>;
  readonly maxPayloadBytes: number;
  readonly maxIdLength: number;
}

/**
 * Checks `options` (errors name `where` and the option) and fills in the defaults.
 * @throws TypeError or RangeError for a bad option, naming it.
 */
export function messageQueueConfig<T>(
  where: string,
  options: MessageQueueOptions<T> | undefined,
): MessageQueueConfig<T> {
  const opts = checkOptions<MessageQueueOptions<T>>(where, options, QUEUE_OPTIONS);
  const capacity = opts.capacity === undefined ? QUEUE_DEFAULTS.capacity : opts.capacity;
  const buffer = bufferConfig<T>(where, capacity, opts);
  const common = commonQueueSettings<T>(where, opts);
  return {
    core: {
      visibilityTimeout: common.visibilityTimeout,
      maxAttempts: common.maxAttempts,
      capacity: buffer.capacity,
      overflow: buffer.overflow,
      onOverflow: buffer.onOverflow,
      dedupWindow: common.dedupWindow,
      deadCapacity: common.deadCapacity,
      onEvict: common.onEvict,
      scheduler: checkScheduler<SchedulerLike>(where, opts.scheduler) ?? monotonicScheduler,
    },
    maxPayloadBytes: common.maxPayloadBytes,
    maxIdLength: common.maxIdLength,
  };
}
