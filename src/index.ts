/**
 * sluice: messaging patterns for RxJS.
 *
 * Every module re-exported with `export *` holds only public pieces; machinery lives in
 * `src/internal/` and is never exported.
 * @module
 */

export * from './channels/broadcast.js';
export { mpmc } from './channels/mpmc.js';
// channels
export { mpsc } from './channels/mpsc.js';
export * from './channels/oneshot.js';
export type { Receiver } from './channels/receiver.js';
export type { Sender } from './channels/sender.js';
export type { RecvOptions, SendOptions, TryRecvResult, TrySendResult } from './channels/types.js';
export * from './channels/watch.js';
// errors
export {
  ChannelClosedError,
  ChannelFullError,
  DeliveryFailedError,
  LaggedError,
  ReceiverBusyError,
} from './errors.js';
export * from './operators/atLeastOnce.js';
// operators and interop
export { bounded } from './operators/bounded.js';
export * from './operators/dedupe.js';
export * from './operators/fromIterable.js';
export * from './operators/idempotent.js';
export * from './operators/toAsyncIterable.js';
export type { JobFailure, WorkerContext, WorkerPoolConfig } from './operators/workerPool.js';
export { workerPool } from './operators/workerPool.js';
// overflow policies
export type { OverflowHandler, OverflowOptions, OverflowPolicy } from './overflow.js';
