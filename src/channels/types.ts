/**
 * Result and option types shared by the channels.
 * @module
 */

/**
 * What `trySend` did. It never waits and never throws for a full or closed channel; a refused
 * message comes back in `value`.
 * - `ok: true`: the message was accepted (under `'replace'` the evicted message went to
 *   `onOverflow`).
 * - `'full'`: the buffer is full under `'block'` or `'error'`; nothing changed.
 * - `'dropped'`: the buffer is full under `'drop'`; the message was discarded and reported
 *   to `onOverflow`.
 * - `'closed'`: the channel no longer accepts messages.
 */
export type TrySendResult<T> =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'full' | 'dropped' | 'closed'; readonly value: T };

/**
 * What `tryRecv` found. `'empty'` means nothing yet, the channel is still open; `'closed'`
 * means nothing will ever come. A broadcast receiver that asked for lag to be an error may also
 * see `'lagged'` with the number of messages it missed; its next call reads on.
 */
export type TryRecvResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'empty' | 'closed' }
  | { readonly ok: false; readonly reason: 'lagged'; readonly skipped: number };

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
