import type { Observable } from 'rxjs';
import type { ChannelCore } from '../internal/channelCore.js';
import { PullObservable } from '../internal/demand.js';
import { PullIterator } from '../internal/pullIterator.js';
import { signalOption } from '../internal/validate.js';
import type { RecvOptions, TryRecvResult } from './types.js';

/**
 * The receiving half of an `mpsc` or `mpmc` channel: an RxJS `Observable<T>` that is also
 * pulled on demand by sluice's consumers (`workerPool`, `for await`, `recv()`).
 *
 * A plain subscription takes every message as it arrives. Unsubscribing does not close the
 * channel: messages sent meanwhile stay buffered for the next consumer. `close()` does.
 */
export interface Receiver<T> extends Observable<T>, AsyncIterable<T> {
  /** The buffer's capacity (`Infinity` for an unbounded channel). */
  readonly capacity: number;
  /** Messages buffered now. */
  readonly size: number;
  /**
   * True once no message can arrive beyond those buffered: the channel accepts no more (receiver
   * closed, every sender closed, failed, or its consumer failed) and no send still waits to deliver.
   */
  readonly isClosed: boolean;
  /** Messages accepted by the channel. */
  readonly sent: number;
  /** Messages handed to a consumer. */
  readonly received: number;
  /** Messages discarded by the `'drop'` or `'replace'` policy. */
  readonly dropped: number;
  /**
   * The next message. Waits while the channel is empty and open.
   *
   * Errors: rejects with `ChannelClosedError` once the channel is closed and drained, or with
   * the producer's error if a sender failed it.
   *
   * Cancellation: aborting `signal` rejects with its reason and consumes nothing.
   */
  recv(options?: RecvOptions): Promise<T>;
  /** The next message if one is buffered; tells "nothing yet" (`'empty'`) from `'closed'`. */
  tryRecv(): TryRecvResult<T>;
  /** Stops new sends and refuses waiting ones; buffered messages stay readable, then consumers complete. */
  close(): void;
  /** `for await` pulls one message per iteration; `break` ends the pull without closing the channel. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

/** @internal The one implementation of `Receiver`, shared by mpsc and mpmc. */
export class ChannelReceiver<T> extends PullObservable<T> implements Receiver<T> {
  constructor(private readonly core: ChannelCore<T>) {
    super((sink) => core.pull(sink));
  }

  get capacity(): number {
    return this.core.buffer.capacity;
  }
  get size(): number {
    return this.core.buffer.size;
  }
  get isClosed(): boolean {
    return this.core.isClosedForReceiver;
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
