/**
 * Why a call on a receipt was refused. A refused call changes nothing.
 * - `'stale'`: a newer delivery of the message exists; this receipt's lease is long over.
 * - `'expired'`: the lease ran out (its deadline is at or before now), whether or not the
 *   expiry timer has fired yet; the message is, or was, back in the queue.
 * - `'released'`: the lease was given up by `nack`, by `release`, or by `close` after its
 *   grace, and no newer delivery exists yet.
 * - `'acked'`: this delivery was already acknowledged.
 * - `'unknown'`: not a receipt of this queue, or one it no longer remembers. A message enqueued
 *   with an id is remembered for `dedupWindow` after enqueue (or while live, if longer); one
 *   with a generated id only until its storage slot is reused by a newer message, so a late
 *   second ack may answer `'unknown'` rather than `'acked'`.
 */
export type ReceiptRejection = 'stale' | 'expired' | 'released' | 'acked' | 'unknown';
