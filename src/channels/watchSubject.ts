import { ObjectUnsubscribedError, type Observable, type Subject } from 'rxjs';
import type { Pullable } from '../internal/demand.js';
import { ChannelSubject } from './channelSubject.js';
import { type WatchReceiver, type WatchSender, watch } from './watch.js';

/**
 * A `watch` channel seen as one RxJS `Subject<T>`, used like a `BehaviorSubject`: it holds the
 * latest value, and `receiver()` hands out handles that remember which version they have
 * seen. See {@link watchSubject}.
 */
export interface WatchSubject<T> extends Subject<T>, AsyncIterable<T> {
  /** The current value, as `getValue()`. */
  readonly value: T;
  /**
   * The current value, as `BehaviorSubject.getValue()`: throws the error after `error(e)`,
   * and `ObjectUnsubscribedError` after `unsubscribe()`.
   */
  getValue(): T;
  /** Versions sent after the initial value. */
  readonly sent: number;
  /** Times a reader advanced to a newer version, summed over readers. */
  readonly received: number;
  /** Versions replaced before any reader read them: what conflation discarded. */
  readonly dropped: number;
  /**
   * A receiver handle of the channel that has seen the current value: `changed()` waits for
   * the next `next`, `hasChanged` tells whether one came, `borrowAndUpdate()` reads and marks
   * seen. Several `next` calls before it looks count as one change (see `WatchReceiver`).
   * Closing the handle affects nobody else.
   */
  receiver(): WatchReceiver<T>;
  /** `for await`: the current value, then the newest each time the body asks (conflated). */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class View<T> extends ChannelSubject<T> implements WatchSubject<T> {
  constructor(
    private readonly tx: WatchSender<T>,
    private readonly rx: WatchReceiver<T>,
  ) {
    super(tx, rx as Observable<T> as Observable<T> & Pullable<T>);
  }
  get value(): T {
    return this.getValue();
  }
  getValue(): T {
    if (this.hasError) throw this.thrownError;
    if (this.closed) throw new ObjectUnsubscribedError();
    return this.tx.borrow();
  }
  get sent(): number {
    return this.tx.sent;
  }
  get received(): number {
    return this.rx.received;
  }
  get dropped(): number {
    return this.rx.dropped;
  }
  receiver(): WatchReceiver<T> {
    const handle = this.rx.clone();
    handle.borrowAndUpdate();
    return handle;
  }
}

/**
 * A `watch` channel that is an RxJS `Subject<T>`: a `BehaviorSubject` whose readers can also
 * wait for "a newer value than the one I saw". Hand it to
 * `share({ connector: () => watchSubject(initial) })` or `connectable(source, { connector })`,
 * or keep it in a field typed `Subject<T>`.
 *
 * ```text
 * watchSubject('i'), next:   ---a---b-c-d----|
 * subscribe():               i--a---b-c-d----|   current value, then every change
 * subscribed later:               a-b-c-d----|   starts with the value current then
 * slow for await:            i..........d....|   newest only when it asks again
 * ```
 *
 * Plain subscribers get the current value when they subscribe, then every change
 * synchronously, as with `BehaviorSubject`. Demand-aware readers of the Subject itself (a
 * `for await` loop, a `workerPool`) get only the newest value each time they ask: the values
 * replaced meanwhile are counted in `dropped`. `receiver()` gives a handle with tokio's
 * `changed()`/`hasChanged`, so code can react to "something changed" without subscribing.
 *
 * **Backpressure.** None is needed: the channel holds one value and `next` replaces it.
 *
 * **Errors.** As `BehaviorSubject`: after `error(e)` or `complete()` later calls are ignored;
 * current subscribers get the end, a later subscriber gets only the end (no value), and
 * `getValue()` throws `e` after `error(e)`. After `unsubscribe()` every call throws
 * `ObjectUnsubscribedError`. A receiver handle's `changed()` rejects with
 * `ChannelClosedError` once the Subject completed (or with `e`) and it has seen the latest.
 *
 * **Cancellation.** Unsubscribing or breaking out of a loop ends only that reader. Nothing
 * keeps the process alive: there are no timers.
 *
 * @param initial The value the Subject starts with.
 * @returns A `Subject<T>` with `value`, `getValue()`, `receiver()` and the channel's counters.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { watchSubject } from 'sluice';
 *
 * const level = watchSubject('info');
 * const seen: string[] = [];
 * level.subscribe((l) => seen.push(l)); // current value, then each change
 * const reader = level.receiver(); // has seen 'info'
 * level.next('debug');
 * level.next('warn');
 * assert.deepEqual(seen, ['info', 'debug', 'warn']);
 * assert.equal(reader.hasChanged, true);
 * await reader.changed(); // two nexts, one change to react to
 * assert.equal(reader.borrow(), 'warn');
 * assert.equal(level.value, 'warn');
 * ```
 */
export function watchSubject<T>(initial: T): WatchSubject<T> {
  const [tx, rx] = watch<T>(initial);
  return new View(tx, rx);
}
