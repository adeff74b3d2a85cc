/**
 * Result and option types shared by the channels.
 * @module
 */

// The result types are leaf modules the channel cores import too; re-exported here so existing
// imports keep working.
export type { TryRecvResult } from '../tryRecvResult.js';
export type { TrySendResult } from '../trySendResult.js';

/** Options of a send that may wait. */
export interface SendOptions {
  /** Abandons the wait: the message is not enqueued and holds no slot; the send rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of a receive that may wait. */
export interface RecvOptions {
  /** Abandons the wait without consuming a message; the receive rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}
