import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import { currentLink, type RoomLink, withLink } from './roomLink.js';

/**
 * sluice's internal demand protocol (DESIGN.md, principle 3; docs/architecture.md).
 *
 * A demand-aware source carries a symbol-keyed method beside its ordinary `subscribe`.
 * `[pull](sink)` opens a pull subscription with zero demand: nothing reaches `sink` until the
 * consumer calls `request(n)`. Rules:
 * - `request(n)` adds `n` (a whole number >= 1, or Infinity) to the outstanding demand; values
 *   may be delivered synchronously from inside `request`.
 * - the source never calls `sink.next` more often than requested; `complete` and `error` need
 *   no demand and end the pull subscription.
 * - `cancel()` ends it from the consumer side; nothing reaches `sink` afterwards.
 * - `stop()`, where a source has it, is the graceful end: the source takes nothing new from its
 *   own upstream, delivers (on demand) what it already holds, then completes. A consumer that
 *   drains calls `stop()` when it exists and `cancel()` otherwise.
 * - `sink` may call `request` or `cancel` re-entrantly from inside `next`.
 * A plain RxJS `subscribe` on such a source is `request(Infinity)`, unless a downstream sluice
 * stage published a room link during the synchronous subscribe chain (`roomLink.ts`): then the
 * subscription requests only as much as that stage has room for.
 *
 * The symbols are registered (`Symbol.for`), so that two loaded copies of the library (its ESM
 * and CJS builds side by side) speak one protocol.
 */
export const pull: unique symbol = Symbol.for('sluice.pull');

/**
 * Marks a pull source whose values take time to produce (a worker pool's results, deliveries
 * being acknowledged): a consumer keeps up to its own `capacity` requested from it, so that the
 * upstream stage can work ahead. A source without the mark holds its values at rest (a
 * channel's buffer, an iterator) and is asked only for what the consumer can take now.
 */
export const readAhead: unique symbol = Symbol.for('sluice.readAhead');

/**
 * Carried by a channel's sender: `pullSource.subscribe(tx)` hands the source to this method, which
 * feeds the channel at its own pace instead of taking an unlimited push.
 */
export const sendFrom: unique symbol = Symbol.for('sluice.sendFrom');

interface PacedTarget<T> {
  [sendFrom](source: Pullable<T>): Subscription;
}

function isPacedTarget<T>(value: unknown): value is PacedTarget<T> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Partial<PacedTarget<T>>)[sendFrom] === 'function'
  );
}

/** Why a consumer let go: it failed with `error` (a plain cancel passes nothing). */
export interface ConsumerFailure {
  readonly error: unknown;
}

export interface Demand<T = unknown> {
  request(n: number): void;
  /**
   * Ends the pull subscription. A consumer that failed says so: a channel then closes, like a
   * dropped tokio receiver, so producers waiting on it are refused instead of left waiting.
   */
  cancel(failure?: ConsumerFailure): void;
  /** Graceful end, where supported: nothing new is taken upstream; what is held is delivered. */
  stop?(): void;
  /**
   * Where supported (a channel), takes back values this consumer received but could not use,
   * oldest first; they are delivered again, first, to the next consumer. Called before `cancel`.
   */
  giveBack?(values: readonly T[]): void;
}

export interface Sink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

export interface Pullable<T> {
  [pull](sink: Sink<T>): Demand<T>;
}

export function isPullable<T>(source: unknown): source is Pullable<T> {
  return (
    source !== null &&
    (typeof source === 'object' || typeof source === 'function') &&
    typeof (source as Partial<Pullable<T>>)[pull] === 'function'
  );
}

/** True for a pull source that a consumer should read ahead of (see `readAhead`). */
export function wantsReadAhead(source: unknown): boolean {
  return isPullable(source) && (source as unknown as Record<symbol, unknown>)[readAhead] === true;
}

/**
 * Subscribes a plain RxJS subscriber to a pull source. Used as the `subscribe` function of every
 * demand-aware Observable in sluice: with unlimited demand, or, when a downstream sluice stage
 * published a room link while this subscription was being made, with exactly as much demand as
 * that stage has room for.
 */
export function subscribeUnlimited<T>(source: Pullable<T>, subscriber: Subscriber<T>): () => void {
  const link = currentLink();
  if (link !== undefined) return subscribeLinked(source, subscriber, link);
  const demand = withLink(undefined, () => source[pull](subscriber));
  subscriber.add(() => demand.cancel());
  if (!subscriber.closed) withLink(undefined, () => demand.request(Number.POSITIVE_INFINITY));
  return () => demand.cancel();
}

/**
 * Requests from `source` only what the linked stage downstream has room for. Room is a level,
 * not a count: a value that an operator in between swallows (a `filter`) leaves the room as it
 * was, so the next one is requested at once; a value that reaches the stage lowers its room.
 */
function subscribeLinked<T>(
  source: Pullable<T>,
  subscriber: Subscriber<T>,
  link: RoomLink,
): () => void {
  /** Requested and not yet delivered. */
  let outstanding = 0;
  let topping = false;
  let again = false;
  let demand: Demand | undefined;
  const top = (): void => {
    if (topping) {
      again = true;
      return;
    }
    topping = true;
    try {
      do {
        again = false;
        if (subscriber.closed || demand === undefined) return;
        const want = link.room() - outstanding;
        if (want > 0) {
          outstanding += want;
          demand.request(want);
        }
      } while (again);
    } finally {
      topping = false;
    }
  };
  withLink(undefined, () => {
    demand = source[pull]({
      next: (value) => {
        outstanding--;
        link.enter();
        try {
          subscriber.next(value);
        } finally {
          link.exit();
        }
        top();
      },
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    const unwatch = link.watch(top);
    subscriber.add(() => {
      unwatch();
      demand?.cancel(link.failure); // a stage that failed downstream closes a channel up here
    });
    top();
  });
  return () => demand?.cancel();
}

/** An Observable that is also a pull source, built from a pull function. */
export class PullObservable<T> extends Observable<T> implements Pullable<T> {
  readonly [pull]: (sink: Sink<T>) => Demand<T>;
  constructor(pullFn: (sink: Sink<T>) => Demand<T>) {
    super((subscriber) => subscribeUnlimited({ [pull]: pullFn }, subscriber));
    this[pull] = pullFn;
  }

  /**
   * As RxJS's, except that a channel sender as the Observer is fed at the channel's pace: every
   * message arrives under `'block'`, and nothing is thrown.
   */
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
  ): Subscription;
  /** @deprecated as in RxJS: pass an Observer. */
  override subscribe(
    next?: ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription;
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (error == null && complete == null && isPacedTarget<T>(observerOrNext)) {
      return observerOrNext[sendFrom](this);
    }
    return super.subscribe(
      observerOrNext as ((value: T) => void) | null | undefined,
      error,
      complete,
    );
  }
}

/**
 * The output of a sluice stage that works on its values (a pool, a delivery stage): a pull
 * source marked for read-ahead, so that a sluice consumer lets it work up to the consumer's own
 * capacity ahead.
 */
export class StageObservable<T> extends PullObservable<T> {
  readonly [readAhead] = true;
}
