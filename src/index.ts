/**
 * sluice: messaging patterns for RxJS.
 *
 * The curated public surface, grouped: channels, operators, queue, errors. Every module
 * re-exported with `export *` holds only public pieces; machinery lives in `src/internal/` and
 * is never exported.
 * @module
 */

// channels
export { mpsc } from './channels/mpsc.js';
export { mpmc } from './channels/mpmc.js';
export type { Sender } from './channels/sender.js';
export type { Receiver } from './channels/receiver.js';
export type { RecvOptions, SendOptions, TryRecvResult, TrySendResult } from './channels/types.js';
export * from './channels/oneshot.js';
export * from './channels/broadcast.js';
export * from './channels/watch.js';

// backpressure, worker pools and interop
export type { OverflowHandler, OverflowOptions, OverflowPolicy } from './overflow.js';
export { bounded } from './operators/bounded.js';
export { workerPool } from './operators/workerPool.js';
export type {
  JobFailure,
  WorkerContext,
  WorkerPoolConfig,
  WorkerPoolOptions,
} from './operators/workerPool.js';
export * from './operators/fromIterable.js';
export * from './operators/toAsyncIterable.js';

// flow control
export * from './operators/rateLimit.js';
export * from './operators/batch.js';

// delivery guarantees
export * from './operators/atLeastOnce.js';
export * from './operators/dedupe.js';
export * from './operators/idempotent.js';

// queue
export {
  MessageQueue,
  MessageTooLargeError,
  consumeQueue,
  consumeQueueBatch,
} from './queue/index.js';
export type {
  AckResult,
  BatchContext,
  BatchHandler,
  CloseOptions,
  CloseResult,
  ConsumeBatchOptions,
  ConsumeContext,
  ConsumeOptions,
  ConsumeOutcome,
  DeadLetterOptions,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  ExtendResult,
  MaybePromise,
  MessageHandler,
  MessageQueueOptions,
  NackOptions,
  NackResult,
  QueueDeadLetter,
  QueueSendOptions,
  QueueStats,
  QueueStore,
  ReceiptRejection,
  ReceiveOptions,
  RedriveResult,
  ReleaseResult,
  ScheduleOptions,
} from './queue/index.js';

// errors
export {
  AckTimeoutError,
  ChannelClosedError,
  ChannelFullError,
  DeliveryFailedError,
  JobTimeoutError,
  LaggedError,
  ReceiverBusyError,
} from './errors.js';
export { HandlerTimeoutError } from './errors/handlerTimeoutError.js';
export { LeaseLostError } from './errors/leaseLostError.js';
export { NoAckError } from './errors/noAckError.js';
export { NoResultError } from './errors/noResultError.js';
export { UnsubscribedError } from './errors/unsubscribedError.js';

// channels as RxJS Subjects, and multicast that keeps demand
export * from './channels/broadcastSubject.js';
export * from './channels/watchSubject.js';
export * from './channels/mpmcSubject.js';
export * from './channels/oneshotSubject.js';
export * from './operators/shareBounded.js';

// observability
export * from './observe/instrumentation.js';
export * from './observe/poolMetrics.js';
