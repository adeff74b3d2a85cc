import type { Observable, Subject } from 'rxjs';
import type { Pullable } from '../internal/demand.js';
import { checkCapacity, checkFunction, checkOneOf, checkOptions } from '../internal/validate.js';
import {
  type BroadcastOptions,
  type BroadcastSender,
  type BroadcastStats,
  broadcast,
} from './broadcast.js';
import { ChannelSubject } from './channelSubject.js';

/**
 * A `broadcast` channel seen as one RxJS `Subject<T>`: `next` broadcasts, every subscriber
 * gets every message sent after it subscribed, and the channel's counters are on the Subject.
 * See {@link broadcastSubject}.
 */
export interface BroadcastSubject<T> extends Subject<T>, BroadcastStats, AsyncIterable<T> {
  /** `for await` over the Subject: a pull reader of the ring that lags when it falls behind. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class View<T> extends ChannelSubject<T> implements BroadcastSubject<T> {
  constructor(
    private readonly tx: BroadcastSender<T>,
    rx: Observable<T> & Pullable<T>,
  ) {
    super(tx, rx);
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
  get lagged(): number {
    return this.tx.lagged;
  }
  get unreceived(): number {
    return this.tx.unreceived;
  }
  get receiverCount(): number {
    return this.tx.receiverCount;
  }
  get allocatedSlots(): number {
    return this.tx.allocatedSlots;
  }
}

/**
 * A bounded `broadcast` channel that is an RxJS `Subject<T>`: hand it to
 * `share({ connector: () => broadcastSubject(16) })` or `connectable(source, { connector })`,
 * or keep it in a field typed `Subject<T>`.
 *
 * ```text
 * next:           a  b  c  d  e          capacity 2
 * subscriber 1:   a  b  c  d  e          (plain subscribers: synchronously, like Subject)
 * subscriber 2:         c  d  e          (subscribed after b)
 * for await:      a ........... d e      (a pull reader that paused: b, c overwritten,
 *                                          2 skipped and reported to onLag)
 * ```
 *
 * Plain subscribers behave as with a `Subject`: each message reaches them synchronously inside
 * `next`, and they never lag. What the channel adds: demand-aware readers of the Subject itself
 * (`for await (const m of subject)`, `subject.pipe(workerPool(f))`) read from one shared ring
 * of `capacity` messages at their own pace, so memory is `capacity` whatever the number of
 * readers, and a reader that falls more than `capacity` behind skips ahead and is told how
 * many it missed (`onLag`, `lagged`, or `LaggedError` under `lag: 'error'`). A message sent
 * while nobody listens is counted in `unreceived` instead of vanishing.
 *
 * Behind `share()` or `connectable()`, subscribers reach the Subject through RxJS's own
 * subscribers, so they are plain subscribers: they never lag and never slow the source. To
 * make the slowest subscriber pace a demand-aware source instead, use `shareBounded`.
 *
 * **Backpressure.** None towards the producer: `next` never waits and never fails because a
 * reader is slow; slow pull readers lag (see `broadcast`).
 *
 * **Errors.** As RxJS's `Subject`: after `error(e)` or `complete()` the Subject is stopped and
 * later `next`, `error` and `complete` calls are ignored; every reader gets the end after the
 * messages it has not read yet, and a reader that subscribes later gets it at once. After
 * `unsubscribe()` every call and subscription throws `ObjectUnsubscribedError`. Lag errors are
 * those of `broadcast` (`BroadcastOptions.lag`).
 *
 * **Cancellation.** Unsubscribing or breaking out of a loop removes that reader and releases
 * the messages only it still held. Nothing keeps the process alive: there are no timers.
 *
 * @param capacity Messages retained for pull readers: a whole number >= 1 (not Infinity).
 * @param options `lag` policy (default `'skip'`) and `onLag` reporter, as for `broadcast`.
 * @returns A `Subject<T>` with the channel's counters (`sent`, `received`, `lagged`, ...).
 * @throws RangeError or TypeError for a bad `capacity` or option, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, of, share, toArray } from 'rxjs';
 * import { broadcastSubject } from 'sluice';
 *
 * const events = broadcastSubject<string>(16);
 * const a: string[] = [];
 * const b: string[] = [];
 * events.subscribe((e) => a.push(e));
 * events.next('started');
 * events.subscribe((e) => b.push(e));
 * events.next('ready');
 * events.complete();
 * assert.deepEqual(a, ['started', 'ready']);
 * assert.deepEqual(b, ['ready']); // subscribed after 'started'
 * assert.equal(events.received, 3);
 *
 * // As the connector of share(): one subscription to the source, shared.
 * const shared = of(1, 2, 3).pipe(share({ connector: () => broadcastSubject<number>(8) }));
 * assert.deepEqual(await lastValueFrom(shared.pipe(toArray())), [1, 2, 3]);
 * ```
 */
export function broadcastSubject<T>(
  capacity: number,
  options?: BroadcastOptions,
): BroadcastSubject<T> {
  const where = 'broadcastSubject';
  checkCapacity(where, 'capacity', capacity, false);
  const opts = checkOptions<BroadcastOptions>(where, options);
  if (opts.lag !== undefined) checkOneOf(where, 'lag', opts.lag, ['skip', 'error']);
  checkFunction(where, 'onLag', opts.onLag, true);
  const [tx, rx] = broadcast<T>(capacity, options);
  // The handle's own recv() cursor would count as a receiver and keep messages nobody reads;
  // a Subject's readers are its subscriptions and loops only.
  rx.close();
  return new View(tx, rx as Observable<T> as Observable<T> & Pullable<T>);
}
