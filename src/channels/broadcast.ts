import type { Observable, Observer } from 'rxjs';
import { ChannelClosedError } from '../errors.js';
import { BroadcastCore } from '../internal/broadcastCore.js';
import { Handle } from '../internal/broadcastHandle.js';
import type { LagPolicy } from '../internal/broadcastReader.js';
import { PullObservable } from '../internal/demand.js';
import { PullIterator } from '../internal/pullIterator.js';
import {
  checkCapacity,
  checkFunction,
  checkOneOf,
  checkOptions,
  optionNames,
  signalOption,
} from '../internal/validate.js';
import type { RecvOptions, TryRecvResult } from './types.js';

const BROADCAST_OPTIONS = optionNames<BroadcastOptions>()({ lag: 1, onLag: 1 });

/** Options of {@link broadcast}. */
export interface BroadcastOptions {
  /**
   * What a pull receiver (`recv()`, `for await`, `workerPool`) that fell more than `capacity`
   * messages behind gets, once it reads again. Either way it continues from the oldest
   * message still retained, and the skipped messages are added to `lagged`.
   * - `'skip'`: it reads on; the count goes to `onLag`.
   * - `'error'`: the read fails with `LaggedError` (`err.skipped` is the count). A `recv()`
   *   rejects once and the next call reads on, as in tokio; `tryRecv()` returns
   *   `{ ok: false, reason: 'lagged', skipped }`; a stream (a `for await` loop, a pull
   *   consumer) errors, and an Observable error is terminal: that consumer ends.
   *
   * Plain RxJS subscribers never lag, so this never concerns them.
   * @default 'skip'
   */
  readonly lag?: 'skip' | 'error';
  /**
   * Called with the number of messages a receiver skipped, each time one catches up under
   * `lag: 'skip'`. It runs synchronously inside the read that found the gap; an exception it
   * throws fails that read instead (a `recv()` rejects with it, `tryRecv()` throws it, a
   * stream errors with it).
   */
  readonly onLag?: (skipped: number) => void;
}

/**
 * Counters and sizes shared by both halves of a broadcast channel. All of them are
 * channel-wide: a receiver handle reports the same numbers as the sender.
 */
export interface BroadcastStats {
  /** Slots in the one ring shared by every receiver. */
  readonly capacity: number;
  /**
   * Messages retained for receivers that have not read them yet: at most `capacity`,
   * whatever the number of receivers. A message every receiver has read is released at once;
   * plain subscribers take theirs synchronously, so with only those `size` stays 0.
   */
  readonly size: number;
  /** Messages accepted by `send` (including those nobody received, see `unreceived`). */
  readonly sent: number;
  /** Deliveries, summed over receivers: two subscribers receiving one message count 2. */
  readonly received: number;
  /** Messages receivers skipped because they lagged, summed over receivers. */
  readonly lagged: number;
  /** Messages sent while there was no receiver at all: `send` returned 0 for each. */
  readonly unreceived: number;
  /**
   * Receivers a message sent now would reach: active subscriptions, active pull consumers
   * (`for await` loops, pools) and open receiver handles (their own `recv()` cursor).
   */
  readonly receiverCount: number;
  /**
   * Slots the ring has allocated so far: at most `capacity`, whatever the number of receivers,
   * because every receiver reads the same ring through its own cursor. It grows only while a
   * message must be retained for a receiver that has not read it, so with only plain
   * subscribers it stays 0. This is the channel's memory in messages.
   */
  readonly allocatedSlots: number;
}

/**
 * The sending half of a `broadcast` channel: an RxJS `Observer<T>`, so `source$.subscribe(tx)`
 * broadcasts a source. Sending never waits: receivers that fall behind lag instead.
 *
 * Each handle is counted: `clone()` adds one, `close()` (or `complete()`) removes one; once
 * the last is closed, every receiver reads what it has not read yet and then completes.
 */
export interface BroadcastSender<T> extends Observer<T>, BroadcastStats {
  /** True once this handle is closed or the channel accepts no more messages. */
  readonly isClosed: boolean;
  /**
   * Broadcasts a message to every receiver there is now, synchronously, and returns how many
   * that is (see `receiverCount`). Plain subscribers get it before `send` returns; pull
   * receivers find it in the ring.
   *
   * With no receiver at all it returns 0, keeps nothing (no receiver could ever read it: a
   * new one starts at the tail) and counts the message in `unreceived`.
   *
   * Errors: throws `ChannelClosedError` carrying `value` when this handle or the channel is
   * closed. It never fails because receivers are slow.
   */
  send(value: T): number;
  /** The Observer path, same as `send` (the count is discarded); throws on a closed channel. */
  next(value: T): void;
  /** Fails the channel: every receiver reads what it has not read yet, then gets `err`. */
  error(err: unknown): void;
  /** Same as `close()`. */
  complete(): void;
  /** Closes this handle. Idempotent. Sending closes when the last handle is closed. */
  close(): void;
  /** A new counted handle to the same channel. Throws `ChannelClosedError` on a closed handle. */
  clone(): BroadcastSender<T>;
  /**
   * Resolves once nobody will read a new message: no receiver remains (tokio's
   * `Sender::closed`) or sending has closed. Receivers may join again later (a new
   * subscription or `resubscribe()`); call again to wait for the next time.
   */
  closed(): Promise<void>;
}

/**
 * A receiver handle of a `broadcast` channel: an RxJS `Observable<T>` whose every
 * subscription is a receiver of its own, plus a cursor of its own for `recv()` and
 * `tryRecv()`.
 *
 * - `subscribe()`: a plain subscriber gets each message sent after it subscribed,
 *   synchronously, and never lags.
 * - `for await`, `workerPool` and other pull consumers: each is a receiver starting at the tail
 *   when it starts, reading at its own pace from the shared ring; it lags when it falls more
 *   than `capacity` behind (see `BroadcastOptions.lag`).
 * - `recv()` / `tryRecv()`: the handle's own cursor. The first handle's cursor starts at the
 *   channel's creation, a `resubscribe()`d handle's at the tail when it was made. Until
 *   `close()`, the cursor is a receiver: it counts in `send`'s result and keeps up to
 *   `capacity` unread messages in the ring, whether or not anyone calls `recv()`.
 */
export interface BroadcastReceiver<T> extends Observable<T>, AsyncIterable<T>, BroadcastStats {
  /** True once this handle is closed, or every sender closed (or failed) the channel. */
  readonly isClosed: boolean;
  /**
   * The next message at this handle's cursor. Waits while there is none yet; overlapping calls
   * are served in call order, each with the next message.
   *
   * Errors: under `lag: 'error'` a call that finds its cursor overwritten rejects with
   * `LaggedError` and the next call reads on from the oldest retained message. Once every
   * sender closed and this cursor read everything, rejects with `ChannelClosedError`, or with
   * the producer's error if the channel was failed. After `close()` it rejects at once with
   * `ChannelClosedError`.
   *
   * Cancellation: aborting `signal` rejects with its reason and consumes nothing.
   */
  recv(options?: RecvOptions): Promise<T>;
  /**
   * The next message at this handle's cursor without waiting: `{ ok: true, value }`, or
   * `'empty'` (nothing yet), `'closed'` (nothing ever again), `'lagged'` with the number
   * skipped (under `lag: 'error'`; the next call reads on).
   */
  tryRecv(): TryRecvResult<T>;
  /**
   * A new receiver handle whose cursor starts at the tail: it gets messages sent from now on
   * (tokio's `Receiver::resubscribe`). Works on a closed handle too.
   */
  resubscribe(): BroadcastReceiver<T>;
  /**
   * Closes this handle's own cursor, as dropping a tokio `Receiver` does: it stops counting as
   * a receiver, the messages it had not read are released (other receivers still read
   * theirs), and waiting and later `recv()` calls reject with `ChannelClosedError`;
   * `tryRecv()` returns `'closed'`. Idempotent.
   *
   * Subscriptions and `for await` loops are receivers of their own and are not affected:
   * end them by unsubscribing or `break`. The handle stays an Observable, so
   * `rx.close(); rx.subscribe(f)` is how to listen with subscriptions only, and
   * `resubscribe()` still works.
   *
   * Unlike `mpsc`'s `rx.close()`, this neither closes the channel nor lets the handle drain
   * first: a broadcast channel is closed by its senders, and the messages this handle gives
   * up were sent to every other receiver as well, which read them as usual.
   */
  close(): void;
  /** A pull receiver starting at the tail; `break` ends it. See `BroadcastReceiver`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

/**
 * A bounded broadcast channel: every receiver gets every message sent after it joined
 * (tokio's `broadcast`). For fan-out of events, state changes or shutdown notices to many
 * listeners, where a slow listener must not hold the others up.
 *
 * ```text
 * tx.send:       a  b  c  d  e           capacity 2
 * subscriber 1:  a  b  c  d  e           (plain subscribers: synchronously, never lag)
 * subscriber 2:        c  d  e           (joined after b was sent)
 * for await:     a ........... d e       (read a, then paused: b, c overwritten,
 *                                          skipped 2, reported; reads on at d)
 * ```
 *
 * One ring of `capacity` slots is shared by all receivers; each pull receiver keeps only a
 * cursor (a sequence number), so memory is `capacity` messages, not `capacity` per receiver.
 * A message is released as soon as every receiver that can read it has.
 *
 * **Backpressure.** None towards the sender, by design: `send` never waits and never fails
 * because a receiver is slow. A pull receiver that falls more than `capacity` messages behind
 * lags: it skips to the oldest message still retained, and the number skipped is added to
 * `lagged` and reported (`onLag`, or `LaggedError` under `lag: 'error'`). Plain RxJS
 * subscribers take each message synchronously inside `send`, so they never lag and occupy no
 * slot. Nothing else buffers, except that messages sent from inside a subscriber's `next` are
 * held until the current message has reached every subscriber, so that each subscriber sees
 * them in send order. A `workerPool` reading `rx` is a pull receiver too: when it falls
 * behind it lags rather than slowing the sender. When every message must be processed, give
 * each consumer its own `mpsc` channel instead.
 *
 * **Errors.** `send` and `next` throw `ChannelClosedError` (carrying the message) on a closed
 * handle or channel. `tx.error(err)` fails the channel: each receiver reads what it has not
 * read yet, then gets `err` (streams error, `recv()` rejects). Lag errors are described under
 * `BroadcastOptions.lag`.
 *
 * **Cancellation.** Unsubscribing, `break`ing a loop, or cancelling a pull consumer removes
 * that receiver and releases the messages only it still held. Aborting a waiting `recv()`
 * consumes nothing. `rx.close()` closes that handle's own `recv()` cursor and releases what
 * it had not read; subscriptions and loops are separate receivers. Nothing keeps the process
 * alive: the channel has no timers.
 *
 * **Counting receivers.** `send` returns the number of receivers the message reaches:
 * plain subscriptions, pull consumers, and open receiver handles. The handle returned here
 * counts until `rx.close()`, like tokio's first `Receiver` until it is dropped, so with
 * `rx` open a message is never unreceivable: `rx.recv()` can still read it while it is
 * retained. Call `rx.close()` when you listen only through subscriptions or loops. When no
 * receiver exists, `send` returns 0 and counts the message in `unreceived` instead of
 * losing it quietly.
 *
 * **Differences from tokio::sync::broadcast.**
 * - `capacity` is exact (tokio rounds it up to a power of two), so lag counts are exact;
 *   `Infinity` is refused: a ring needs a size, and an unbounded broadcast would grow for its
 *   slowest receiver. Use `mpsc` per consumer if every message must reach everyone.
 * - Lag is not an error by default (`lag: 'skip'`, reported through `onLag` and `lagged`);
 *   `lag: 'error'` gives tokio's `RecvError::Lagged` for `recv()`, and ends a stream.
 * - Plain RxJS subscribers are push receivers that never lag; tokio has only pull receivers.
 * - `send` with no receiver returns 0 (and counts `unreceived`) where tokio returns
 *   `Err(SendError(value))`; after the last sender closed it throws `ChannelClosedError`.
 * - Handles are closed explicitly (no destructors): `tx.close()`, `rx.close()` (which does
 *   what dropping a tokio receiver does).
 * - Each subscription and each `for await` loop is a receiver of its own starting at the
 *   tail, like tokio's `Sender::subscribe()`; overlapping `recv()` calls on one handle are
 *   allowed and served in call order.
 * - `recv()` on a closed, fully read channel rejects with `ChannelClosedError` (tokio:
 *   `RecvError::Closed`).
 *
 * @param capacity Messages retained for pull receivers: a whole number >= 1 (not Infinity).
 * @param options `lag` policy (default `'skip'`) and `onLag` reporter.
 * @returns `[tx, rx]`: the first sender handle and the first receiver handle.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { broadcast } from 'sluice';
 *
 * const [tx, rx] = broadcast<string>(16);
 * const a: string[] = [];
 * const b: string[] = [];
 * rx.subscribe((event) => a.push(event));
 * assert.equal(tx.send('started'), 2); // the subscription and rx itself
 * rx.subscribe((event) => b.push(event));
 * tx.send('ready');
 * tx.close();
 * assert.deepEqual(a, ['started', 'ready']);
 * assert.deepEqual(b, ['ready']); // joined after 'started'
 * // rx's own cursor started at creation and still reads both, then sees the end:
 * assert.equal(await rx.recv(), 'started');
 * assert.equal(await rx.recv(), 'ready');
 * assert.deepEqual(rx.tryRecv(), { ok: false, reason: 'closed' });
 * ```
 *
 * @example
 * A receiver that falls behind skips, and says how far:
 * ```ts
 * import assert from 'node:assert/strict';
 * import { broadcast } from 'sluice';
 *
 * const skips: number[] = [];
 * const [tx, rx] = broadcast<number>(2, { onLag: (skipped) => skips.push(skipped) });
 * for (let i = 1; i <= 5; i++) tx.send(i); // rx reads nothing meanwhile
 * assert.equal(await rx.recv(), 4); // 1, 2 and 3 were overwritten
 * assert.equal(await rx.recv(), 5);
 * assert.deepEqual(skips, [3]);
 * assert.equal(rx.lagged, 3);
 * ```
 */
export function broadcast<T>(
  capacity: number,
  options?: BroadcastOptions,
): [tx: BroadcastSender<T>, rx: BroadcastReceiver<T>] {
  const size = checkCapacity('broadcast', 'capacity', capacity, false);
  const opts = checkOptions<BroadcastOptions>('broadcast', options, BROADCAST_OPTIONS);
  const lag: LagPolicy =
    opts.lag === undefined ? 'skip' : checkOneOf('broadcast', 'lag', opts.lag, ['skip', 'error']);
  const onLag = checkFunction<(skipped: number) => void>('broadcast', 'onLag', opts.onLag, true);
  const core = new BroadcastCore<T>({ capacity: size, lag, onLag });
  return [new Sender(core), new Receiver(core)];
}

/** Key under which both halves keep their core (module-private: not reachable by name). */
const CORE: unique symbol = Symbol('sluice.broadcastCore');

/** The one implementation of `BroadcastSender`. */
class Sender<T> implements BroadcastSender<T> {
  readonly [CORE]: BroadcastCore<T>;
  private open = true;

  constructor(core: BroadcastCore<T>) {
    this[CORE] = core;
  }

  get capacity(): number {
    return this[CORE].capacity;
  }
  get size(): number {
    return this[CORE].size;
  }
  get isClosed(): boolean {
    return !this.open || this[CORE].isClosed;
  }
  get sent(): number {
    return this[CORE].sent;
  }
  get received(): number {
    return this[CORE].received;
  }
  get lagged(): number {
    return this[CORE].lagged;
  }
  get unreceived(): number {
    return this[CORE].unreceived;
  }
  get receiverCount(): number {
    return this[CORE].receiverCount;
  }
  get allocatedSlots(): number {
    return this[CORE].slotCount;
  }

  send(value: T): number {
    if (!this.open) throw new ChannelClosedError('send: this sender handle is closed', value);
    const core = this[CORE];
    if (core.isClosed) throw core.closedError(value);
    return core.send(value);
  }

  next = (value: T): void => {
    this.send(value);
  };

  error = (err: unknown): void => {
    if (!this.open) return;
    this.open = false;
    this[CORE].fail(err);
    this[CORE].releaseSender();
  };

  complete = (): void => {
    this.close();
  };

  close(): void {
    if (!this.open) return;
    this.open = false;
    this[CORE].releaseSender();
  }

  clone(): BroadcastSender<T> {
    if (!this.open) throw new ChannelClosedError('clone: this sender is closed');
    this[CORE].senders++;
    return new Sender(this[CORE]);
  }

  closed(): Promise<void> {
    return this[CORE].closed();
  }
}

/** The one implementation of `BroadcastReceiver`: a handle and the Observable of its readers. */
class Receiver<T> extends PullObservable<T> implements BroadcastReceiver<T> {
  readonly [CORE]: BroadcastCore<T>;
  private readonly handle: Handle<T>;

  constructor(core: BroadcastCore<T>) {
    const handle = new Handle(core);
    super((sink) => core.pull(sink));
    this[CORE] = core;
    this.handle = handle;
  }

  get capacity(): number {
    return this[CORE].capacity;
  }
  get size(): number {
    return this[CORE].size;
  }
  get isClosed(): boolean {
    return this.handle.isClosed || this[CORE].isClosed;
  }
  get sent(): number {
    return this[CORE].sent;
  }
  get received(): number {
    return this[CORE].received;
  }
  get lagged(): number {
    return this[CORE].lagged;
  }
  get unreceived(): number {
    return this[CORE].unreceived;
  }
  get receiverCount(): number {
    return this[CORE].receiverCount;
  }
  get allocatedSlots(): number {
    return this[CORE].slotCount;
  }

  recv(options?: RecvOptions): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption('recv', options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.handle.recv(signal);
  }

  tryRecv(): TryRecvResult<T> {
    return this.handle.tryRecv();
  }

  resubscribe(): BroadcastReceiver<T> {
    return new Receiver(this[CORE]);
  }

  close(): void {
    this.handle.close();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new PullIterator(this);
  }
}
