/**
 * What `trySend` did. It never waits and never throws for a full or closed channel; a refused
 * message comes back in `value`.
 * - `ok: true`: the message was accepted (under `'replace'` the evicted message went to
 *   `onOverflow`).
 * - `'full'`: the buffer is full under `'block'` or `'error'`; nothing changed.
 * - `'dropped'`: the buffer is full under `'drop'`; the message was discarded and reported
 *   to `onOverflow`.
 * - `'closed'`: the channel no longer accepts messages.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mpsc, type TrySendResult } from 'sluice';
 * const [tx] = mpsc<string>(1);
 * const first: TrySendResult<string> = tx.trySend('a');
 * assert.deepEqual(first, { ok: true });
 * assert.deepEqual(tx.trySend('b'), { ok: false, reason: 'full', value: 'b' });
 * ```
 */
export type TrySendResult<T> =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'full' | 'dropped' | 'closed'; readonly value: T };
