import { Observable, type Subscriber } from 'rxjs';

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
 * - `sink` may call `request` or `cancel` re-entrantly from inside `next`.
 * A plain RxJS `subscribe` on such a source is `request(Infinity)`.
 */
// Symbol.for: a broker entry point (sluice/amqp) is bundled with its own copy of this file, and
// its sources must still be seen as pullable by the core's consumers.
export const pull: unique symbol = Symbol.for('sluice.pull') as typeof pull;

export interface Demand {
  request(n: number): void;
  cancel(): void;
}

export interface Sink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

export interface Pullable<T> {
  [pull](sink: Sink<T>): Demand;
}

export function isPullable<T>(source: unknown): source is Pullable<T> {
  return (
    source !== null &&
    (typeof source === 'object' || typeof source === 'function') &&
    typeof (source as Partial<Pullable<T>>)[pull] === 'function'
  );
}

/**
 * Subscribes a plain RxJS subscriber to a pull source with unlimited demand. Used as the
 * `subscribe` function of every demand-aware Observable in sluice.
 */
export function subscribeUnlimited<T>(source: Pullable<T>, subscriber: Subscriber<T>): () => void {
  const demand = source[pull](subscriber);
  subscriber.add(() => demand.cancel());
  if (!subscriber.closed) demand.request(Number.POSITIVE_INFINITY);
  return () => demand.cancel();
}

/** An Observable that is also a pull source, built from a pull function. */
export class PullObservable<T> extends Observable<T> implements Pullable<T> {
  readonly [pull]: (sink: Sink<T>) => Demand;
  constructor(pullFn: (sink: Sink<T>) => Demand) {
    super((subscriber) => subscribeUnlimited({ [pull]: pullFn }, subscriber));
    this[pull] = pullFn;
  }
}
