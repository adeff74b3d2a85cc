import { optionNames } from '../internal/validate.js';
import type { ConsumeOptions } from './consumeTypes.js';
import type {
  CloseOptions,
  DeadLetterOptions,
  EnqueueOptions,
  MessageQueueOptions,
  NackOptions,
  QueueSendOptions,
  ReceiveOptions,
} from './types.js';

/** The valid option names of each queue call, for refusing misspelled ones (internal). */
export const QUEUE_OPTIONS = optionNames<MessageQueueOptions<unknown>>()({
  visibilityTimeout: 1,
  maxAttempts: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  dedupWindow: 1,
  deadLetter: 1,
  scheduler: 1,
  maxPayloadBytes: 1,
  maxIdLength: 1,
});
export const DEAD_LETTER_OPTIONS = optionNames<DeadLetterOptions<unknown>>()({
  capacity: 1,
  onEvict: 1,
});
/** The message-order options of `enqueue`/`send`, checked with `checkGroup`/`checkPriority`. */
type OrderOption = 'group' | 'priority';
/**
 * Without the order options: a store lists `[...ENQUEUE_OPTIONS, ...ORDER_OPTIONS]` once it
 * implements groups and priorities, and refuses them as unknown options until then.
 */
export const ENQUEUE_OPTIONS = optionNames<Omit<EnqueueOptions, OrderOption>>()({
  id: 1,
  delay: 1,
  headers: 1,
});
export const SEND_OPTIONS = optionNames<Omit<QueueSendOptions, OrderOption>>()({
  id: 1,
  delay: 1,
  signal: 1,
  headers: 1,
});
export const ORDER_OPTIONS = optionNames<Pick<EnqueueOptions, OrderOption>>()({
  group: 1,
  priority: 1,
});
export const RECEIVE_OPTIONS = optionNames<ReceiveOptions>()({ max: 1, wait: 1, signal: 1 });
export const NACK_OPTIONS = optionNames<NackOptions>()({ delay: 1, error: 1 });
export const CLOSE_OPTIONS = optionNames<CloseOptions>()({ grace: 1 });
export const CONSUME_OPTIONS = optionNames<ConsumeOptions<unknown>>()({
  concurrency: 1,
  drain: 1,
  signal: 1,
  timeout: 1,
  keepAlive: 1,
  backoff: 1,
  retryDelay: 1,
  scheduler: 1,
  pollWait: 1,
  instrument: 1,
});
