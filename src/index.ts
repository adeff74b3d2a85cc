/**
 * sluice: messaging patterns for RxJS.
 * @module
 */

// channels
export { mpsc } from './channels/mpsc.js';
export { mpmc } from './channels/mpmc.js';
export type { Sender } from './channels/sender.js';
export type { Receiver } from './channels/receiver.js';
export type { TrySendResult, TryRecvResult, SendOptions, RecvOptions } from './channels/types.js';

// overflow policies
export type { OverflowPolicy, OverflowHandler, OverflowOptions } from './overflow.js';

// errors
export {
  ChannelClosedError,
  ChannelFullError,
  LaggedError,
  DeliveryFailedError,
  ReceiverBusyError,
} from './errors.js';
