import type { Observable, Subject } from 'rxjs';
import type { Pullable, Sink } from '../internal/demand.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import type { OverflowOptions } from '../overflow.js';
import { ChannelSubject } from './channelSubject.js';
import { mpmc } from './mpmc.js';
import type { Receiver } from './receiver.js';
import type { Sender } from './sender.js';

/**
 * An `mpmc` channel seen as one RxJS `Subject<T>`: each message goes to one of its
 * subscribers. See {@link mpmcSubject}.
 */
export interface MpmcSubject<T> extends Subject<T>, AsyncIterable<T> {
  /** The buffer's capacity (`Infinity` for an unbounded channel). */
  readonly capacity: number;
  /** Messages buffered now: sent while no subscriber could take them. */
  readonly size: number;
  /** Messages accepted. */
  readonly sent: number;
  /** Messages handed to a subscriber or reader. */
  readonly received: number;
  /** Messages discarded by the `'drop'` or `'replace'` policy (each also reached `onOverflow`). */
  readonly dropped: number;
  /** `for await` over the Subject: one competing consumer, one message per iteration. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class View<T> extends ChannelSubject<T> implements MpmcSubject<T> {
  constructor(
    private readonly tx: Sender<T>,
    rx: Receiver<T>,
  ) {
    super(tx, rx as Observable<T> as Observable<T> & Pullable<T>);
  }
  get capacity(): number {
    return this.tx.capacity;
  }
  get size(): number {
    return this.tx.size;
  }
  get sent(): number {
    return this.tx.sent;
  }
  get received(): number {
    return this.tx.received;
  }
  get dropped(): number {
    return this.tx.dropped;
  }
  /** A queue keeps what nobody took yet: a late reader drains it, then gets the end. */
  protected override endsAtOnce(_sink: Sink<T>): boolean {
    return false;
  }
}

/**
 * A bounded `mpmc` channel that is an RxJS `Subject<T>`: competing consumers behind one
 * `share()`. Each message goes to exactly one subscriber (plain subscribers take turns,
 * round-robin; demand-aware readers of the Subject take one only when they have room), and
 * messages sent while nobody can take them wait in the buffer instead of vanishing.
 *
 * ```text
 * next:          a b c d e f
 * subscriber 1:  a   c   e
 * subscriber 2:    b   d   f
 * ```
 *
 * **Backpressure.** At most `capacity` messages are buffered, under the channel's `overflow`
 * policy. `next` cannot wait: when the buffer is full under `'block'` (the default) or
 * `'error'` the channel fails with `ChannelFullError` carrying the message (readers get what
 * was buffered, then the error; nothing is thrown into the source); `'drop'` and `'replace'`
 * discard and report to `onOverflow`. The buffer fills only while no reader has demand.
 *
 * **Errors.** As RxJS's `Subject` for the Observer side: after `error(e)` or `complete()` later
 * calls are ignored, and after `unsubscribe()` every call throws `ObjectUnsubscribedError`.
 * Unlike a `Subject`, a reader that subscribes after the end still gets the messages left in
 * the buffer, then the end: a queue does not lose what nobody took yet.
 *
 * **Cancellation.** Unsubscribing a reader returns nothing to the channel, since messages are
 * handed out only on delivery: what it has not received stays buffered for the others.
 *
 * @param capacity The most messages buffered at once: a whole number >= 1, or `Infinity`.
 * @param options `overflow` policy (default `'block'`) and `onOverflow` reporter.
 * @returns A `Subject<T>` with the channel's counters.
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { connectable, from } from 'rxjs';
 * import { mpmcSubject } from 'sluice';
 *
 * const jobs = connectable(from(['j1', 'j2', 'j3', 'j4']), {
 *   connector: () => mpmcSubject<string>(10),
 * });
 * const a: string[] = [];
 * const b: string[] = [];
 * jobs.subscribe((job) => a.push(job));
 * jobs.subscribe((job) => b.push(job));
 * jobs.connect();
 * assert.deepEqual([a, b], [['j1', 'j3'], ['j2', 'j4']]);
 * ```
 */
export function mpmcSubject<T>(capacity: number, options?: OverflowOptions<T>): MpmcSubject<T> {
  bufferConfig<T>('mpmcSubject', capacity, options);
  const [tx, rx] = mpmc<T>(capacity, options);
  return new View(tx, rx);
}
