import type { Observable } from 'rxjs';
import { PullObservable } from '../internal/demand.js';
import { iterableKind, pullAsync, pullSync } from '../internal/fromIterableCore.js';

/**
 * An Observable over a synchronous or asynchronous iterable (an array, a generator, the lines
 * of a file, a database cursor) that takes each item from the iterator only when a consumer
 * asks for it.
 *
 * RxJS's `from` pushes everything as fast as it can. `fromIterable` is a demand-aware sluice
 * source: pulled by a sluice consumer (`toAsyncIterable`, `for await`, `workerPool`, `bounded`)
 * it calls `iterator.next()` once per requested item and never reads ahead. A plain
 * `subscribe` asks for everything, and then it behaves like `from`: a synchronous iterable is
 * emitted synchronously, an asynchronous one item after item.
 *
 * ```text
 * iterable:             1 2 3 4 5 ...   (a generator)
 * consumer requests 2:  1 2             the generator ran up to its second yield
 * consumer requests 1:      3           ...and one step further
 * plain subscribe:      (123...|)       like from()
 * ```
 *
 * Each subscription gets a fresh iterator from `iterable[Symbol.iterator]()` (or
 * `[Symbol.asyncIterator]()`, preferred when both exist). An array or a `Set` can therefore be
 * subscribed many times, but a generator object is its own, single-use iterator: a second
 * subscription continues where the first stopped, or completes at once. Wrap a generator
 * function to get a fresh run per subscription: `fromIterable({ [Symbol.iterator]: numbers })`.
 *
 * **Backpressure.** Nothing is buffered. A demand-aware consumer decides how many items are
 * taken: exactly the number it requested, plus none ahead (so the end of the iterable is only
 * noticed when one more item is requested). An asynchronous iterator never has more than one
 * `next()` call outstanding. Demand does not pass through RxJS operators: piped through
 * `map`, a plain subscription asks for everything.
 *
 * **Errors.** An exception from `[Symbol.iterator]()`, `next()` or a rejected `next()` errors
 * the Observable; the iterator is then finished and `return()` is not called (as with
 * `for...of`). An `iterator.next()` that returns a non-object errors with a `TypeError`.
 *
 * **Cancellation.** Unsubscribing (or `take(n)`, or a `break` out of `for await`) before the
 * iterator is done calls its `return()`, so a generator's `finally` runs and a cursor or file
 * is closed. For an asynchronous iterator `return()` is called at once, even while a `next()`
 * is still pending: async generators queue it behind that step, iterators that can abort a
 * read release it immediately; the value of the step in flight is discarded. An exception or
 * rejection from `return()` (or from a step that fails after the unsubscribe) has no subscriber
 * left, so it goes to RxJS's `config.onUnhandledError`, or is rethrown asynchronously when that
 * is unset, as RxJS does with errors nobody can take; it is never swallowed.
 *
 * **Differences from RxJS `from`.** Items are pulled on demand by sluice consumers instead of
 * pushed all at once; only iterables are accepted (not Promises, array-likes or Observables);
 * an unsubscribe calls an asynchronous iterator's `return()` at once (RxJS 7 calls it only when
 * the iterator's next item arrives).
 *
 * @param iterable An `Iterable<T>` or `AsyncIterable<T>`.
 * @returns An Observable of the iterable's items, pulled on demand by sluice consumers.
 * @throws TypeError when `iterable` is neither an Iterable nor an AsyncIterable.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { take, toArray } from 'rxjs';
 * import { fromIterable } from 'sluice';
 *
 * let produced = 0;
 * let closed = false;
 * function* naturals() {
 *   try {
 *     for (let n = 1; ; n++) {
 *       produced++;
 *       yield n;
 *     }
 *   } finally {
 *     closed = true; // return() ran on unsubscribe
 *   }
 * }
 *
 * const seen: number[] = [];
 * fromIterable({ [Symbol.iterator]: naturals })
 *   .pipe(take(3), toArray())
 *   .subscribe((items) => seen.push(...items));
 * assert.deepEqual(seen, [1, 2, 3]);
 * assert.equal(produced, 3);
 * assert.equal(closed, true);
 * ```
 *
 * ```ts
 * import assert from 'node:assert/strict';
 * import { fromIterable, toAsyncIterable } from 'sluice';
 *
 * // Pulled by a sluice consumer, an async generator runs one step per item asked for.
 * const log: string[] = [];
 * async function* pages() {
 *   for (let page = 1; page <= 100; page++) {
 *     log.push(`fetch ${page}`);
 *     yield page;
 *   }
 * }
 * for await (const page of toAsyncIterable(fromIterable(pages()))) {
 *   log.push(`use ${page}`);
 *   if (page === 2) break;
 * }
 * assert.deepEqual(log, ['fetch 1', 'use 1', 'fetch 2', 'use 2']);
 * ```
 */
export function fromIterable<T>(iterable: Iterable<T> | AsyncIterable<T>): Observable<T> {
  if (iterableKind(iterable) === 'async') {
    const source = iterable as AsyncIterable<T>;
    return new PullObservable<T>((sink) => pullAsync(source, sink));
  }
  const source = iterable as Iterable<T>;
  return new PullObservable<T>((sink) => pullSync(source, sink));
}
