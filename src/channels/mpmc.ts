import { ChannelCore } from '../internal/channelCore.js';
import { bufferConfig, OVERFLOW_OPTIONS } from '../internal/policyBuffer.js';
import type { OverflowOptions } from '../overflow.js';
import { ChannelReceiver, type Receiver } from './receiver.js';
import { ChannelSender, type Sender } from './sender.js';

/**
 * A bounded multi-producer, multi-consumer channel of competing consumers: each message goes to
 * exactly one consumer that has demand. It is the queue behind a pool of workers
 * (async-channel in Rust).
 *
 * ```text
 * tx.send:   a b c d e f
 * worker 1:  a   c   e      (each subscription or pull consumer is one worker;
 * worker 2:    b   d   f     free workers take turns)
 * ```
 *
 * Every subscription of `rx`, every `for await` loop over it and every `recv()` call is one
 * competing consumer. Plain RxJS subscribers always have demand, so they take turns message by
 * message (round-robin); pull consumers such as `workerPool` take a message only when a worker
 * is free, so a busy worker is skipped.
 *
 * **Backpressure.** As `mpsc`: at most `capacity` buffered messages and the same four
 * overflow policies, `'block'` by default. `capacity: Infinity` is unbounded, with the same
 * warning: memory grows without limit when consumers fall behind.
 *
 * **Errors.** As `mpsc`: `ChannelClosedError` and `ChannelFullError` carry the refused
 * message; `tx.next()` throws rather than lose one; `tx.error(err)` fails the channel for every
 * consumer once the buffer is drained.
 *
 * **Cancellation.** Unsubscribing a consumer returns nothing to the channel, since messages
 * are handed out only on delivery: what the consumer has not received stays buffered for the
 * others. An aborted `send` or `recv` holds no slot and consumes nothing. `rx.close()` stops new
 * sends; consumers drain the buffer and then complete.
 *
 * **Differences from async-channel.** Handles are closed explicitly; the receiver is one
 * Observable whose subscriptions are the competing consumers, so there is no receiver `clone()`;
 * `recv()` on a closed, drained channel rejects with `ChannelClosedError`.
 *
 * @param capacity The most messages buffered at once: a whole number >= 1, or `Infinity`.
 * @param options `overflow` policy (default `'block'`) and `onOverflow` reporter.
 * @returns `[tx, rx]`: the first sender handle and the receiver.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mpmc } from 'sluice';
 *
 * const [tx, rx] = mpmc<string>(10);
 * const a: string[] = [];
 * const b: string[] = [];
 * rx.subscribe((job) => a.push(job));
 * rx.subscribe((job) => b.push(job));
 * for (const job of ['j1', 'j2', 'j3', 'j4']) tx.trySend(job);
 * assert.deepEqual([a, b], [['j1', 'j3'], ['j2', 'j4']]);
 * ```
 */
export function mpmc<T>(
  capacity: number,
  options?: OverflowOptions<T>,
): [tx: Sender<T>, rx: Receiver<T>] {
  const core = new ChannelCore<T>(
    bufferConfig<T>('mpmc', capacity, options, OVERFLOW_OPTIONS),
    'mpmc',
    false,
  );
  return [new ChannelSender(core), new ChannelReceiver(core)];
}
