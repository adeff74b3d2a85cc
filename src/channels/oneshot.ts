import type { Observable, Observer } from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { OneshotCore } from '../internal/oneshotCore.js';
import { PullIterator } from '../internal/pullIterator.js';
import { signalOption } from '../internal/validate.js';
import type { RecvOptions, TryRecvResult } from './types.js';

/**
 * The sending half of a `oneshot` channel: an RxJS `Observer<T>` that accepts exactly one
 * value. `send` never waits: the slot is always free for the first value.
 *
 * `source$.subscribe(tx)` hands the source's first value over and treats a second one as a
 * mistake (it throws, see `next`); put `take(1)` or `first()` in front of a source that may
 * emit more.
 */
export interface OneshotSender<T> extends Observer<T> {
  /**
   * True once a send would fail: the value was sent, this sender was completed or failed, or
   * the receiver closed. (tokio's `is_closed` only reports the receiver; a tokio sender cannot
   * be used after sending, so the other cases cannot arise there.)
   */
  readonly isClosed: boolean;
  /**
   * Sends the value, synchronously; every reader that waits gets it now, later readers get it
   * too.
   *
   * Errors: throws `ChannelClosedError` carrying `value` when a value was already sent, when
   * this sender was completed or failed, or when the receiver closed. Nothing is stored then.
   */
  send(value: T): void;
  /** The Observer path: same as `send`, so it throws on a second value (see `send`). */
  next(value: T): void;
  /**
   * Fails the channel: readers waiting now or later get `err` instead of a value. Ignored
   * once a value was sent or the channel closed (an ended Observer takes no more calls).
   */
  error(err: unknown): void;
  /**
   * Closes the sender. After a send this is a no-op; without one the channel ends empty and
   * every reader fails with `ChannelClosedError` ("the sender closed without sending a
   * value"). Idempotent.
   */
  complete(): void;
  /** Same as `complete()`. */
  close(): void;
  /**
   * Resolves once `isClosed` turns true: the receiver closed (nobody wants the value any
   * more, tokio's `Sender::closed`), or this sender sent, completed or failed. Use it to stop
   * computing a value nobody will read: `Promise.race([work(), tx.closed()])`.
   */
  closed(): Promise<void>;
}

/**
 * The receiving half of a `oneshot` channel: an `Observable<T>` that emits the one value and
 * completes, like a Promise or an RxJS `AsyncSubject`. The value is kept and replayed: every
 * subscription, `recv()`, `tryRecv()` and iterator gets it, also after others have read it.
 */
export interface OneshotReceiver<T> extends Observable<T>, AsyncIterable<T> {
  /** Always 1: the channel holds at most one value. */
  readonly capacity: number;
  /** 1 once the value is held, 0 before. */
  readonly size: number;
  /**
   * True once nothing new can arrive: the value was sent, the sender closed or failed, or
   * this receiver closed.
   */
  readonly isClosed: boolean;
  /** 1 once the value was sent, 0 before. */
  readonly sent: number;
  /** Times the value was handed to a reader (each subscription, `recv()`, `tryRecv()`, iterator). */
  readonly received: number;
  /** Always 0: a oneshot discards nothing; a refused send hands its value back. */
  readonly dropped: number;
  /**
   * The value: at once if it was sent, otherwise when it is. Any number of calls may wait;
   * all get the same value.
   *
   * Errors: rejects with `ChannelClosedError` when the channel ended without a value (the
   * sender closed without sending, or this receiver closed first), or with the sender's
   * error if it failed.
   *
   * Cancellation: aborting `signal` rejects with its reason and changes nothing else; the
   * value, when it comes, is still there for the next read.
   */
  recv(options?: RecvOptions): Promise<T>;
  /**
   * Reads without waiting: `{ ok: true, value }` once sent (again on every call),
   * `'empty'` while the value may still come, `'closed'` when it never will (the sender closed
   * or failed without sending, or the receiver closed first; `recv()` tells those apart).
   */
  tryRecv(): TryRecvResult<T>;
  /**
   * Closes the receiver (tokio's `Receiver::close`): a later send fails and hands its value
   * back; a value sent before stays readable. Without a value, waiting readers fail with
   * `ChannelClosedError`, and `tx.closed()` resolves. Idempotent.
   */
  close(): void;
  /** `for await` yields the value once, then ends; it throws where `recv()` would reject. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class Tx<T> implements OneshotSender<T> {
  constructor(private readonly core: OneshotCore<T>) {}

  get isClosed(): boolean {
    return this.core.senderClosed;
  }

  send(value: T): void {
    this.core.send(value);
  }

  next = (value: T): void => {
    this.core.send(value);
  };

  error = (err: unknown): void => {
    this.core.error(err);
  };

  complete = (): void => {
    this.core.complete();
  };

  close(): void {
    this.core.complete();
  }

  closed(): Promise<void> {
    return this.core.closed();
  }
}

class Rx<T> extends PullObservable<T> implements OneshotReceiver<T> {
  constructor(private readonly core: OneshotCore<T>) {
    super((sink) => core.pull(sink));
  }

  get capacity(): number {
    return 1;
  }
  get size(): number {
    return this.core.state === 'sent' ? 1 : 0;
  }
  get isClosed(): boolean {
    return this.core.state !== 'pending';
  }
  get sent(): number {
    return this.core.state === 'sent' ? 1 : 0;
  }
  get received(): number {
    return this.core.received;
  }
  get dropped(): number {
    return 0;
  }

  recv(options?: RecvOptions): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption('recv', options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.core.recv(signal);
  }

  tryRecv(): TryRecvResult<T> {
    return this.core.tryRecv();
  }

  close(): void {
    this.core.closeReceiver();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new PullIterator(this);
  }
}

/**
 * A channel for exactly one value: the reply to a request, the result of a background job,
 * a "ready" signal. The sender hands over one value; the receiver is an Observable that emits
 * it and completes, and a Promise-style `recv()`.
 *
 * ```text
 * tx:        ----v|             send(v) (a later complete() is fine)
 * rx:        ----(v|)           every subscription; one made later gets (v|) at once
 *
 * tx:        ----|              complete() without a value
 * rx:        ----#              ChannelClosedError
 *
 * tx:        ----#              error(e)
 * rx:        ----#              e
 * ```
 *
 * **Backpressure.** None is needed: the single slot is free for the first value, so `send`
 * never waits. The value is held until the channel is garbage collected. Demand-aware readers
 * (`for await`, `recv()`, `workerPool`) receive it only once they asked for it.
 *
 * **Errors.** A second send, a send after `tx.complete()`/`tx.error()` and a send after
 * `rx.close()` throw `ChannelClosedError` carrying the refused value; nothing is stored. A
 * channel that ends without a value fails its readers: `ChannelClosedError` when the sender
 * completed without sending or the receiver closed first, the sender's error after
 * `tx.error(e)`. The receiver never completes without a value.
 *
 * **Cancellation.** Aborting a waiting `recv()` or unsubscribing a subscription removes only
 * that reader; the value, when sent, stays readable by everyone else. `rx.close()` before a
 * send cancels the exchange on both sides: the sender's `closed()` resolves and its `send`
 * fails.
 *
 * **Differences from tokio::sync::oneshot.** Reading does not consume: tokio's single
 * receiver takes the value out, while here the value is replayed to every subscription and
 * read (an Observable may be subscribed many times; a second subscriber seeing nothing would
 * be a silent loss). JavaScript has no destructors: the sender ends with `complete()` (tokio:
 * drop without sending) and a second `send` is a runtime error (tokio: `send` consumes the
 * sender). `recv()` rejects with `ChannelClosedError` where tokio returns `RecvError`.
 * `tx.error(e)` has no tokio counterpart. `tx.closed()` also resolves once the value was sent
 * (tokio cannot await it after `send`).
 *
 * @returns `[tx, rx]`: the sender and the receiver.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { firstValueFrom } from 'rxjs';
 * import { ChannelClosedError, oneshot } from 'sluice';
 *
 * // A request carries its own reply channel.
 * const [reply, answer] = oneshot<number>();
 * queueMicrotask(() => reply.send(42));
 * assert.equal(await answer.recv(), 42);
 * assert.equal(await firstValueFrom(answer), 42); // the value is replayed to every reader
 * assert.throws(() => reply.send(43), ChannelClosedError); // exactly one value
 *
 * // A sender that gives up without a value fails the receiver.
 * const [tx, rx] = oneshot<string>();
 * tx.complete();
 * await assert.rejects(rx.recv(), ChannelClosedError);
 * ```
 */
export function oneshot<T>(): [tx: OneshotSender<T>, rx: OneshotReceiver<T>] {
  const core = new OneshotCore<T>();
  return [new Tx(core), new Rx(core)];
}
