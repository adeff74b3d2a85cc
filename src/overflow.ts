/**
 * What a full buffer does with one more message (DESIGN.md, principle 2):
 *
 * - `'block'`: the producer waits (`await tx.send(v)`); nothing is lost. A synchronous push
 *   (`next()`) cannot wait, so under `'block'` it fails with `ChannelFullError` instead.
 * - `'drop'`: the incoming message is discarded and reported.
 * - `'replace'`: the oldest buffered message is discarded and reported, making room.
 * - `'error'`: the send fails with `ChannelFullError`, which hands the message back.
 *
 * ```text
 * capacity 2, buffer [a b], incoming c:
 *   block    [a b]   c waits for a free slot
 *   drop     [a b]   c reported to onOverflow
 *   replace  [b c]   a reported to onOverflow
 *   error    [a b]   send rejects: ChannelFullError { value: c }
 * ```
 */
export type OverflowPolicy = 'block' | 'drop' | 'replace' | 'error';

/**
 * Told about every message a policy discarded: under `'drop'` the incoming one, under
 * `'replace'` the oldest buffered one. It runs synchronously inside the send that caused it,
 * after the buffer is consistent again; an exception it throws reaches that send's caller.
 */
export type OverflowHandler<T> = (discarded: T, policy: 'drop' | 'replace') => void;

/** The options every bounded buffer in sluice accepts. */
export interface OverflowOptions<T> {
  /** What a full buffer does. @default 'block' */
  readonly overflow?: OverflowPolicy;
  /** Called with each message the policy discarded. */
  readonly onOverflow?: OverflowHandler<T>;
}
