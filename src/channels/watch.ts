import type { Observable, Observer } from 'rxjs';
import { ChannelClosedError } from '../errors.js';
import { PullObservable } from '../internal/demand.js';
import { PullIterator } from '../internal/pullIterator.js';
import { checkBoolean, checkFunction, signalOption } from '../internal/validate.js';
import { type Handle, WatchCore } from '../internal/watchCore.js';
import type { RecvOptions, TryRecvResult } from './types.js';

/**
 * The sending half of a `watch` channel: an RxJS `Observer<T>` that replaces the current
 * value. Every send stores the value and creates a new version; readers are told at once.
 * None of the methods waits.
 */
export interface WatchSender<T> extends Observer<T> {
  /**
   * True once nothing sent can reach a reader: this sender was closed or failed, or every
   * receiver handle (`rx` and its clones) was closed. Sends still store the value in the
   * second case (see `send`).
   */
  readonly isClosed: boolean;
  /**
   * Open receiver handles: `rx` and its clones not yet closed. Subscriptions and iterators are
   * reads through a handle and are not counted, so the count does not drop to zero between
   * two subscriptions of the same `rx`.
   */
  readonly receiverCount: number;
  /** Versions sent after the initial value (a `sendIfModified` that returned false is not one). */
  readonly sent: number;
  /** The current value. Does not count as a read (see `WatchReceiver.dropped`). */
  borrow(): T;
  /**
   * Replaces the value and notifies every reader.
   *
   * Errors: throws `ChannelClosedError` carrying `value` after `close()`, `complete()` or
   * `error()`. Unlike tokio it does not fail when every receiver handle is closed: the value
   * is stored all the same (`borrow()` shows it), since a stored latest value is what a
   * watch is for, and `isClosed` tells the producer nobody listens.
   */
  send(value: T): void;
  /** Like `send`, and returns the value it replaced. */
  sendReplace(value: T): T;
  /**
   * Changes the current value in place, `modify(current)`, then notifies every reader, even
   * if nothing changed. Meant for mutable values (objects, arrays, maps); for immutable ones
   * use `send`. Readers receive the same object each time, so a reader that keeps a reference
   * sees later modifications too.
   *
   * Errors: throws `ChannelClosedError` (without calling `modify`) on a closed sender. If
   * `modify` throws, nobody is notified and the error propagates; whatever it already changed
   * stays changed (tokio: the same after a panic).
   *
   * @throws TypeError when `modify` is not a function.
   */
  sendModify(modify: (value: T) => void): void;
  /**
   * Like `sendModify`, but notifies only when `modify` returns true, for changes that may
   * turn out to be no-ops. A version that is not published does not wake `changed()`.
   *
   * Errors: as `sendModify`; `modify` must return a boolean, otherwise a `TypeError` is
   * thrown and nobody is notified (a forgotten `return` would silently hide a change).
   *
   * @returns what `modify` returned: whether readers were notified.
   */
  sendIfModified(modify: (value: T) => boolean): boolean;
  /** The Observer path, same as `send`; throws `ChannelClosedError` once the sender is closed. */
  next(value: T): void;
  /**
   * Fails the channel: each subscription and iterator receives the latest value if it has not
   * seen it, then `err`; waiting and later `changed()`/`recv()` reject with `err` once the
   * latest value was seen. Ignored once closed.
   */
  error(err: unknown): void;
  /** Same as `close()`. */
  complete(): void;
  /**
   * Closes the sender (tokio: dropping it). Each subscription and iterator receives the latest
   * value if it has not seen it, then completes; `changed()`/`recv()` reject with
   * `ChannelClosedError` once the latest value was seen. The value stays readable with
   * `borrow()`. Idempotent.
   */
  close(): void;
  /**
   * Resolves once `isClosed` turns true: every receiver handle closed (tokio's
   * `Sender::closed`), or this sender closed or failed.
   */
  closed(): Promise<void>;
}

/**
 * A receiver handle of a `watch` channel: an `Observable<T>` of the latest value.
 *
 * Two ways to read:
 * - **as a stream**: each subscription (and each `for await`, each sluice consumer) gets the
 *   current value first, then every change. A plain subscriber gets each change synchronously
 *   as it is sent (like `BehaviorSubject`); a demand-aware reader that is busy gets only the
 *   newest value once it asks again (conflated).
 * - **as a handle** (tokio's `Receiver`): the handle remembers the version it has seen.
 *   `borrowAndUpdate()`, `changed()`, `recv()` and a successful `tryRecv()` mark the current
 *   version seen; `borrow()` and `hasChanged` do not. The initial value counts as seen, so a
 *   fresh handle's `changed()` waits for the first send. Subscriptions and iterators keep
 *   their own position and never mark the handle's version seen.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { watch } from 'sluice';
 *
 * // A slow `for await` body sees only the newest value: sends made while it works conflate.
 * const [tx, rx] = watch(0);
 * const seen: number[] = [];
 * for await (const n of rx) {
 *   seen.push(n);
 *   if (n === 0) {
 *     tx.send(1);
 *     tx.send(2);
 *     tx.send(3);
 *   }
 *   if (n === 3) break;
 * }
 * assert.deepEqual(seen, [0, 3]); // starts with the current value; 1 and 2 were replaced
 * assert.equal(rx.dropped, 2);
 * ```
 */
export interface WatchReceiver<T> extends Observable<T>, AsyncIterable<T> {
  /** Always 1: the channel holds exactly one value. */
  readonly capacity: number;
  /** 1 while this handle has an unseen version (what `tryRecv()` would return), else 0. */
  readonly size: number;
  /** True once this handle is closed, or the sender closed or failed. */
  readonly isClosed: boolean;
  /** Versions sent after the initial value, channel-wide. */
  readonly sent: number;
  /** Times a reader advanced to a newer version (a handle marking one seen, or a stream delivery), channel-wide. */
  readonly received: number;
  /**
   * Versions replaced before any receiver read them, channel-wide: the values conflation
   * discarded. A version counts as read once any handle or stream reader saw it, including by
   * `borrow()`; `tx.borrow()` does not count.
   */
  readonly dropped: number;
  /**
   * True when a version newer than this handle has seen exists; it does not mark it seen.
   * False on a closed handle. (tokio's `has_changed` reports a closed channel as an error;
   * here it never throws: check `isClosed`.)
   */
  readonly hasChanged: boolean;
  /** The current value, without marking it seen. Works in every state, closed or not. */
  borrow(): T;
  /** The current value, marking it seen by this handle. */
  borrowAndUpdate(): T;
  /**
   * Resolves when this handle has an unseen version, at once if it already has one, and
   * marks it seen. Several sends before it runs resolve it once. Overlapping calls on one
   * handle all resolve on the same version.
   *
   * Errors: rejects with `ChannelClosedError` when the sender closed and this handle has seen
   * the latest version (an unseen one is still reported first), or when this handle is closed;
   * with the sender's error if it failed.
   *
   * Cancellation: aborting `signal` rejects with its reason and marks nothing seen.
   */
  changed(options?: RecvOptions): Promise<void>;
  /** `changed()`, then the value it marked seen. Same errors and cancellation. */
  recv(options?: RecvOptions): Promise<T>;
  /**
   * Without waiting: the unseen value (marking it seen), or `'empty'` when this handle has
   * seen the latest and the sender is open, or `'closed'` when nothing new will come (the
   * sender closed or failed, or this handle is closed).
   */
  tryRecv(): TryRecvResult<T>;
  /**
   * Closes this handle (tokio: dropping the receiver): its subscriptions and iterators
   * complete at once, its waiting `changed()`/`recv()` reject with `ChannelClosedError`,
   * later subscriptions complete empty. Other handles are unaffected; when the last one
   * closes, `tx.closed()` resolves. Idempotent.
   */
  close(): void;
  /**
   * A new handle to the same channel that starts with this handle's seen version and then
   * keeps its own.
   *
   * @throws ChannelClosedError when this handle is closed.
   */
  clone(): WatchReceiver<T>;
  /**
   * `for await` starts with the current value, then yields the newest value each time the body
   * asks for the next one (conflated); it ends after the sender closed and the latest value
   * was yielded, and throws the sender's error after it failed. `break` ends only this
   * iteration.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class Tx<T> implements WatchSender<T> {
  constructor(private readonly core: WatchCore<T>) {}

  get isClosed(): boolean {
    return this.core.senderClosed;
  }
  get receiverCount(): number {
    return this.core.receiverCount;
  }
  get sent(): number {
    return this.core.version;
  }

  borrow(): T {
    return this.core.value;
  }

  send(value: T): void {
    this.replace('send', value);
  }

  sendReplace(value: T): T {
    return this.replace('sendReplace', value);
  }

  sendModify(modify: (value: T) => void): void {
    checkFunction('sendModify', 'modify', modify);
    this.ensureOpen('sendModify', undefined);
    modify(this.core.value);
    this.core.publish();
  }

  sendIfModified(modify: (value: T) => boolean): boolean {
    checkFunction('sendIfModified', 'modify', modify);
    this.ensureOpen('sendIfModified', undefined);
    const modified = checkBoolean(
      'sendIfModified',
      'the result of modify',
      modify(this.core.value),
    );
    if (modified) this.core.publish();
    return modified;
  }

  next = (value: T): void => {
    this.replace('next', value);
  };

  error = (err: unknown): void => {
    this.core.fail(err);
  };

  complete = (): void => {
    this.core.close();
  };

  close(): void {
    this.core.close();
  }

  closed(): Promise<void> {
    return this.core.closed();
  }

  private replace(where: string, value: T): T {
    this.ensureOpen(where, value);
    const old = this.core.value;
    this.core.value = value;
    this.core.publish();
    return old;
  }

  private ensureOpen(where: string, value: T | undefined): void {
    if (this.core.senderEnded) {
      throw new ChannelClosedError(`${where}: the watch sender is closed`, value);
    }
  }
}

class Rx<T> extends PullObservable<T> implements WatchReceiver<T> {
  constructor(
    private readonly core: WatchCore<T>,
    private readonly handle: Handle<T>,
  ) {
    super((sink) => core.pull(handle, sink));
  }

  get capacity(): number {
    return 1;
  }
  get size(): number {
    return this.core.hasChanged(this.handle) ? 1 : 0;
  }
  get isClosed(): boolean {
    return !this.handle.open || this.core.senderEnded;
  }
  get sent(): number {
    return this.core.version;
  }
  get received(): number {
    return this.core.received;
  }
  get dropped(): number {
    return this.core.dropped;
  }
  get hasChanged(): boolean {
    return this.core.hasChanged(this.handle);
  }

  borrow(): T {
    return this.core.borrow();
  }

  borrowAndUpdate(): T {
    return this.core.borrowAndUpdate(this.handle);
  }

  changed(options?: RecvOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption('changed', options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.core.wait(this.handle, signal, 'changed').then(noop);
  }

  recv(options?: RecvOptions): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption('recv', options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.core.wait(this.handle, signal, 'recv');
  }

  tryRecv(): TryRecvResult<T> {
    return this.core.tryRecv(this.handle);
  }

  close(): void {
    this.core.closeHandle(this.handle);
  }

  clone(): WatchReceiver<T> {
    return new Rx(this.core, this.core.cloneHandle(this.handle));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new PullIterator(this);
  }
}

function noop(): void {}

/**
 * A channel that holds the latest value: configuration, a status, a progress figure, any
 * state many readers want the current version of. The sender replaces the value; the
 * receiver is an Observable that starts with the current value and follows every change,
 * and a handle that can wait for the next change (`changed()`).
 *
 * ```text
 * watch('i'), tx:      ---a---b-c-d----|
 * rx.subscribe():      i--a---b-c-d----|     current value, then every change, synchronously
 * subscribed later:         a-b-c-d----|    starts with the value current when it subscribes
 * slow for await:      i..........d....|     asks again only when its body finishes: newest only
 * ```
 *
 * **Backpressure.** None is needed and none is applied: the channel holds exactly one value
 * and a send replaces it, so the sender never waits and memory stays constant. Readers that
 * cannot keep up (a `for await` body, a `workerPool`, a handle that calls `changed()` now and
 * then) skip to the newest value: versions replaced before anyone read them are counted in
 * `rx.dropped`. A plain RxJS subscriber takes every change synchronously; if it needs to be
 * slower, read through a demand-aware consumer instead of buffering in RxJS.
 *
 * **Errors.** Sends after `tx.close()`/`tx.complete()`/`tx.error()` throw `ChannelClosedError`
 * carrying the value. `tx.error(err)` fails the channel: readers get the latest value if they
 * have not seen it, then `err`. `changed()`/`recv()` reject with `ChannelClosedError` once the
 * sender closed and the latest value was seen.
 *
 * **Cancellation.** Aborting a waiting `changed()`/`recv()` rejects it with the signal's
 * reason and marks nothing seen. Unsubscribing or breaking out of `for await` ends only that
 * reader; the handle stays open (an Observable can be subscribed again). `rx.close()` closes a
 * handle and everything reading through it.
 *
 * **Differences from tokio::sync::watch.** `send` stores the value even when every receiver
 * handle is closed (tokio returns it as an error): an Observable can be resubscribed and a
 * watch's job is to hold the latest value; `tx.isClosed` says whether anyone listens.
 * `hasChanged` is a boolean that never throws (tokio: `Err` once closed). Handles are closed
 * explicitly (`rx.close()`, `tx.close()`), as JavaScript has no destructors. `recv()` (wait,
 * then read and mark seen) and `tryRecv()` are sluice additions. Subscriptions and iterators
 * behave like tokio's `WatchStream`: they start with the current value, also after the sender
 * closed (then they complete right after it), where a `BehaviorSubject` would only complete.
 * `tx.error(e)` has no tokio counterpart. A send made from inside a reader's callback is
 * delivered after that callback returns, and readers not yet notified of the previous value
 * see only the newer one: no reader ever sees values go backwards.
 *
 * @param initial The value the channel starts with; it counts as seen by `rx`.
 * @returns `[tx, rx]`: the sender and the first receiver handle (`rx.clone()` makes more).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ChannelClosedError, watch } from 'sluice';
 *
 * const [tx, rx] = watch({ level: 'info' });
 * const levels: string[] = [];
 * rx.subscribe((config) => levels.push(config.level)); // current value, then each change
 * tx.send({ level: 'debug' });
 * tx.send({ level: 'warn' });
 * assert.deepEqual(levels, ['info', 'debug', 'warn']);
 *
 * // The handle tracks what it has seen: two sends, one change to react to.
 * assert.equal(rx.hasChanged, true);
 * await rx.changed();
 * assert.equal(rx.borrow().level, 'warn');
 * assert.equal(rx.hasChanged, false);
 *
 * tx.close(); // nothing newer will come
 * await assert.rejects(rx.changed(), ChannelClosedError);
 * assert.equal(rx.borrow().level, 'warn'); // the last value stays readable
 * ```
 */
export function watch<T>(initial: T): [tx: WatchSender<T>, rx: WatchReceiver<T>] {
  const core = new WatchCore<T>(initial);
  return [new Tx(core), new Rx(core, core.firstHandle())];
}
