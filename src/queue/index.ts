/**
 * The message queue: `MessageQueue` (in memory), the `QueueStore` interface a remote backend
 * implements, and `consumeQueue`, the worker pool that runs on any store.
 * @module
 */
export type {
  ConsumeContext,
  ConsumeOptions,
  ConsumeOutcome,
  MessageHandler,
} from './consume.js';
export { consumeQueue } from './consume.js';
export type { BatchContext, BatchHandler, ConsumeBatchOptions } from './consumeQueueBatch.js';
export { consumeQueueBatch } from './consumeQueueBatch.js';
export { MessageQueue } from './messageQueue.js';
export type { MaybePromise, QueueStore } from './store.js';
export type {
  AckResult,
  CloseOptions,
  CloseResult,
  DeadLetterOptions,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  ExtendResult,
  MessageQueueOptions,
  NackOptions,
  NackResult,
  QueueDeadLetter,
  QueueSendOptions,
  QueueStats,
  ReceiptRejection,
  ReceiveOptions,
  RedriveResult,
  ReleaseResult,
  ScheduleOptions,
} from './types.js';
