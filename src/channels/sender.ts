import { type Observer, Subscription } from 'rxjs';

import { ChannelClosedError, ChannelFullError } from '../errors.js';
import type { ChannelCore } from '../internal/channelCore.js';
import { type Demand, type Pullable, pull, sendFrom } from '../internal/demand.js';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { signalOption } from '../internal/validate.js';
import type { SendOptions, TrySendResult } from './types.js';

/**
 * The sending half of an `mpsc` or `mpmc` channel: an RxJS `Observer<T>` (so
 * `source$.subscribe(tx)` feeds the channel) with Promise methods that wait for room.
 *
 * Each handle is counted: `clone()` adds one, `close()` (or `complete()`) removes one, and the
 * receiver completes once the last handle is closed and the buffer is drained.
 */
export interface Sender<T> extends Observer<T> {
  /** The buffer's capacity (`Infinity` for an unbounded channel). */
  readonly capacity: number;
  /** Messages buffered now, not counting sends that wait for room. */
  readonly size: number;
  /** True once this handle is closed or the channel no longer accepts messages. */
  readonly isClosed: boolean;
  /** Messages accepted by the channel. */
  readonly sent: number;
  /** Messages handed to a consumer. */
  readonly received: number;
  /** Messages discarded by the `'drop'` or `'replace'` policy (each also reached `onOverflow`). */
  readonly dropped: number;
  /**
   * Messages a push source offered after it had overflowed a `'block'` or `'error'` channel
   * (the channel failed with `ChannelFullError` carrying the first one; a plain Observable
   * cannot be stopped from inside its Observer, so what it sends afterwards is counted here).
   */
  readonly refused: number;
  /**
   * Sends a message. Under `'block'` it waits while the buffer is full (waiting sends are
   * served first-in first-out); under the other policies it settles at once.
   *
   * Errors: rejects with `ChannelClosedError` when the channel is closed, and under `'error'`
   * with `ChannelFullError` when full; both carry the message as `value`. A message dropped by
   * `'drop'` resolves (it was reported to `onOverflow`).
   *
   * Cancellation: aborting `signal` while waiting rejects with the signal's reason; the message
   * is not enqueued and holds no slot. Closing the receiver rejects waiting sends with
   * `ChannelClosedError`; closing a sender handle does not cancel its waiting sends.
   */
  send(value: T, options?: SendOptions): Promise<void>;
  /** Sends without waiting; reports full, dropped or closed together with the message. */
  trySend(value: T): TrySendResult<T>;
  /**
   * The Observer path, for `source$.subscribe(tx)`.
   *
   * A sluice source (a channel receiver, `fromIterable`, a sluice operator's output) is fed at
   * the channel's pace instead: it is asked only for what fits, so under `'block'` every
   * message arrives and nothing is thrown.
   *
   * A plain push source cannot wait, so `next` follows the policy and never loses a message
   * silently: when the buffer is full under `'block'` or `'error'`, the channel fails with
   * `ChannelFullError` carrying the message (receivers read what was buffered, then get the
   * error) and nothing is thrown into the source; what it offers afterwards is counted in
   * `refused`. On a closed channel `next` throws `ChannelClosedError` carrying the message.
   */
  next(value: T): void;
  /** Fails the channel: consumers receive what is buffered, then this error. */
  error(err: unknown): void;
  /** Same as `close()`. */
  complete(): void;
  /** Closes this handle. Idempotent. Its waiting sends still deliver. */
  close(): void;
  /** A new counted handle to the same channel. Throws `ChannelClosedError` on a closed handle. */
  clone(): Sender<T>;
  /** Resolves once the receiver closed or the channel ended: nobody will read new messages. */
  closed(): Promise<void>;
}

/** @internal The one implementation of `Sender`, shared by mpsc and mpmc. */
export class ChannelSender<T> implements Sender<T> {
  private open = true;

  constructor(private readonly core: ChannelCore<T>) {}

  get capacity(): number {
    return this.core.buffer.capacity;
  }
  get size(): number {
    return this.core.buffer.size;
  }
  get isClosed(): boolean {
    return !this.open || this.core.isClosed;
  }
  get sent(): number {
    return this.core.sent;
  }
  get received(): number {
    return this.core.received;
  }
  get dropped(): number {
    return this.core.buffer.dropped;
  }
  get refused(): number {
    return this.core.refused;
  }

  send(value: T, options?: SendOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption('send', options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.open) return Promise.reject(this.handleClosed(value));
    return this.core.send(value, signal);
  }

  trySend(value: T): TrySendResult<T> {
    if (!this.open) return { ok: false, reason: 'closed', value };
    return this.core.trySend(value);
  }

  next = (value: T): void => {
    if (!this.open) throw this.handleClosed(value);
    this.core.next(value);
  };

  error = (err: unknown): void => {
    if (!this.open) return;
    this.open = false;
    this.core.fail(err);
    this.core.releaseSender();
  };

  complete = (): void => {
    this.close();
  };

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.core.releaseSender();
  }

  /**
   * `sluiceSource.subscribe(tx)`: feeds the channel from a demand-aware source at the pace the
   * channel takes messages. The source is asked for what fits (at least one); a message that
   * meets a full `'block'` channel waits as `send()` does, and the next is asked for only once
   * it is in. `'drop'` and `'replace'` apply as usual; under `'error'` a full channel fails
   * with `ChannelFullError` carrying the message. The source's end closes (or fails) this
   * handle, as with any Observer.
   */
  [sendFrom](source: Pullable<T>): Subscription {
    const core = this.core;
    const feeding = new Subscription();
    /** Requested from the source and not yet received. */
    let outstanding = 0;
    let waiting = false;
    let demand: Demand | undefined;
    const top = (): void => {
      if (feeding.closed || waiting || demand === undefined) return;
      const free = core.buffer.capacity - core.buffer.size;
      const want = Math.max(free, 1) - outstanding;
      if (want > 0) {
        outstanding += want;
        demand.request(want);
      }
    };
    const refuse = (error: unknown): void => {
      feeding.unsubscribe();
      reportUnhandledError(error);
    };
    demand = source[pull]({
      next: (value) => {
        outstanding--;
        if (feeding.closed) return;
        if (!this.open) {
          refuse(this.handleClosed(value));
          return;
        }
        const result = core.trySend(value);
        if (result.ok || result.reason === 'dropped') {
          top();
          return;
        }
        if (result.reason === 'closed') {
          refuse(new ChannelClosedError('send: the channel is closed', value));
          return;
        }
        if (core.buffer.policy !== 'block') {
          feeding.unsubscribe();
          core.overflowed = true;
          core.fail(
            new ChannelFullError(
              `send: channel is full (capacity ${core.buffer.capacity}) under 'error'`,
              value,
            ),
          );
          return;
        }
        waiting = true;
        core.send(value, undefined).then(
          () => {
            waiting = false;
            top();
          },
          (error: unknown) => refuse(error),
        );
      },
      error: (error) => {
        feeding.unsubscribe();
        this.error(error);
      },
      complete: () => {
        feeding.unsubscribe();
        this.complete();
      },
    });
    feeding.add(() => demand?.cancel());
    top();
    return feeding;
  }

  clone(): Sender<T> {
    if (!this.open) throw new ChannelClosedError('clone: this sender is closed');
    this.core.senders++;
    return new ChannelSender(this.core);
  }

  closed(): Promise<void> {
    return this.core.closed();
  }

  private handleClosed(value: T): ChannelClosedError<T> {
    return new ChannelClosedError('send: this sender handle is closed', value);
  }
}
