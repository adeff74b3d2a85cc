/**
 * What `tryRecv` found. `'empty'` means nothing yet, the channel is still open; `'closed'`
 * means nothing will ever come. A broadcast receiver that asked for lag to be an error may also
 * see `'lagged'` with the number of messages it missed; its next call reads on.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mpsc, type TryRecvResult } from 'sluice';
 * const [tx, rx] = mpsc<string>(1);
 * const nothing: TryRecvResult<string> = rx.tryRecv();
 * assert.deepEqual(nothing, { ok: false, reason: 'empty' });
 * tx.next('a');
 * assert.deepEqual(rx.tryRecv(), { ok: true, value: 'a' });
 * ```
 */
export type TryRecvResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'empty' | 'closed' }
  | { readonly ok: false; readonly reason: 'lagged'; readonly skipped: number };
