import { ChannelCore } from '../internal/channelCore.js';
import { bufferConfig, OVERFLOW_OPTIONS } from '../internal/policyBuffer.js';
import type { OverflowOptions } from '../overflow.js';
import { ChannelReceiver, type Receiver } from './receiver.js';
import { ChannelSender, type Sender } from './sender.js';

/**
 * A bounded multi-producer, single-consumer channel: the job queue and the fan-in point.
 * Producers share it through `tx.clone()`; one consumer reads it as an Observable, with
 * `for await`, or with `recv()`.
 *
 * ```text
 * tx.send:  a b c d|          (capacity 2, 'block')
 * buffer:   [a] [a b] [a b] c waits ...
 * rx:       --a--b--c--d|     (the consumer's pace)
 * ```
 *
 * **Backpressure.** At most `capacity` messages are buffered. When full, `overflow` decides:
 * `'block'` (default) makes `send()` wait, first-in first-out; `'drop'` discards the new
 * message, `'replace'` the oldest, both reported to `onOverflow` and counted in `dropped`;
 * `'error'` rejects the send with `ChannelFullError`. Demand flows back from sluice consumers
 * (`workerPool`, `for await`, `recv()`): they take only what they can work on. A plain RxJS
 * subscriber takes everything at once, so the buffer stays empty and `send` never waits.
 *
 * `capacity: Infinity` is the explicit unbounded channel (tokio's `unbounded_channel`).
 * **Warning:** it never pushes back, so a producer faster than its consumer grows memory
 * without limit. Prefer a bound and a policy.
 *
 * **Errors.** Sends on a closed channel reject with `ChannelClosedError`; under `'error'` a
 * full buffer rejects with `ChannelFullError`; both carry the message. `tx.next()` cannot wait
 * and throws instead of losing a message (see `Sender.next`). `tx.error(err)` fails the channel:
 * the consumer receives what is buffered, then `err`. A second concurrent consumer gets
 * `ReceiverBusyError`.
 *
 * **Cancellation.** A waiting `send` or `recv` abandoned through its `AbortSignal` rejects with
 * the signal's reason and neither holds a slot nor consumes a message. Unsubscribing the
 * consumer leaves the channel open and its messages buffered for the next consumer;
 * `rx.close()` stops new sends, refuses waiting ones and lets the consumer drain the rest.
 *
 * **Differences from tokio::sync::mpsc.** JavaScript has no destructors, so handles are closed
 * explicitly (`tx.close()` or `tx.complete()`, `rx.close()`); `recv()` on a closed, drained
 * channel rejects with `ChannelClosedError` instead of returning `None`; overlapping `recv()`
 * calls are allowed and served in call order; `next()` is the non-waiting Observer entry point
 * and throws where tokio's `try_send` returns an error.
 *
 * @param capacity The most messages buffered at once: a whole number >= 1, or `Infinity`.
 * @param options `overflow` policy (default `'block'`) and `onOverflow` reporter.
 * @returns `[tx, rx]`: the first sender handle and the receiver.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mpsc } from 'sluice';
 *
 * const [tx, rx] = mpsc<number>(2);
 * const producer = (async () => {
 *   for (let i = 1; i <= 5; i++) await tx.send(i); // waits while 2 are buffered
 *   tx.close();
 * })();
 * const seen: number[] = [];
 * for await (const n of rx) seen.push(n);
 * await producer;
 * assert.deepEqual(seen, [1, 2, 3, 4, 5]);
 * ```
 */
export function mpsc<T>(
  capacity: number,
  options?: OverflowOptions<T>,
): [tx: Sender<T>, rx: Receiver<T>] {
  const core = new ChannelCore<T>(
    bufferConfig<T>('mpsc', capacity, options, OVERFLOW_OPTIONS),
    'mpsc',
    true,
  );
  return [new ChannelSender(core), new ChannelReceiver(core)];
}
