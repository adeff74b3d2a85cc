import type { Demand, Sink } from './demand.js';
import { reportUnhandledError } from './reportUnhandledError.js';

import { checkCapacity, describe } from './validate.js';

/**
 * The pull sources behind `fromIterable`: one fresh iterator per pull subscription, values
 * taken from it only while the consumer has outstanding demand, and the iterator closed
 * (`return()`) when the consumer cancels before the iterator ended.
 */

const WHERE = 'fromIterable';

/** A pull subscription that ended before it began (the iterator could not be obtained). */
const ENDED: Demand = Object.freeze({
  request(n: number) {
    checkRequest(n);
  },
  cancel() {},
});

/** Which iteration protocol to use: async wins when a value offers both, as in RxJS `from`. */
export function iterableKind(iterable: unknown): 'sync' | 'async' {
  if (iterable !== null && iterable !== undefined) {
    const candidate = iterable as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown };
    if (typeof candidate[Symbol.asyncIterator] === 'function') return 'async';
    if (typeof candidate[Symbol.iterator] === 'function') return 'sync';
  }
  throw new TypeError(
    `${WHERE}: iterable must be an Iterable or AsyncIterable, got ${describe(iterable)}`,
  );
}

function checkRequest(n: number): void {
  checkCapacity(WHERE, 'request(n)', n);
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function checkIterator(value: unknown, what: string): void {
  if (!isObject(value) || typeof (value as { next?: unknown }).next !== 'function') {
    throw new TypeError(`${WHERE}: ${what} must return an iterator, got ${describe(value)}`);
  }
}

function checkResult(value: unknown): asserts value is IteratorResult<unknown> {
  if (!isObject(value)) {
    throw new TypeError(`${WHERE}: iterator.next() must return an object, got ${describe(value)}`);
  }
}

/** Calls `iterator.return()` if it has one; an exception or rejection is reported, not lost. */
function closeIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>): void {
  let result: unknown;
  try {
    const close: unknown = iterator.return;
    if (typeof close !== 'function') return;
    result = Reflect.apply(close, iterator, []);
  } catch (err) {
    reportUnhandledError(err);
    return;
  }
  if (isObject(result) && typeof (result as PromiseLike<unknown>).then === 'function') {
    Promise.resolve(result as PromiseLike<unknown>).then(undefined, reportUnhandledError);
  }
}

/**
 * A pull subscription to a synchronous iterable. `request(n)` takes up to `n` values at once,
 * in a loop (never recursion, so a consumer that requests one more from inside every `next`
 * does not grow the stack); a request made while the loop runs only raises its demand.
 */
export function pullSync<T>(iterable: Iterable<T>, sink: Sink<T>): Demand {
  let iterator: Iterator<T>;
  try {
    iterator = iterable[Symbol.iterator]();
    checkIterator(iterator, 'iterable[Symbol.iterator]()');
  } catch (err) {
    sink.error(err);
    return ENDED;
  }
  let demand = 0;
  let running = false;
  let ended = false;

  return {
    request(n: number) {
      checkRequest(n);
      if (ended) return;
      demand += n;
      if (running) return;
      running = true;
      try {
        while (demand > 0 && !ended) {
          let done: boolean;
          let value: T;
          try {
            const result: unknown = iterator.next();
            checkResult(result);
            done = result.done === true;
            value = result.value as T;
          } catch (err) {
            if (ended) return reportUnhandledError(err);
            ended = true;
            sink.error(err);
            return;
          }
          // The iterator itself may have caused a cancel while it ran.
          if (ended) return;
          if (done) {
            ended = true;
            sink.complete();
            return;
          }
          demand--;
          try {
            sink.next(value);
          } catch (err) {
            // A sink must not throw; if one does, close the iterator as `for...of` would.
            if (!ended) {
              ended = true;
              closeIterator(iterator);
            }
            throw err;
          }
        }
      } finally {
        running = false;
      }
    },
    cancel() {
      if (ended) return;
      ended = true;
      closeIterator(iterator);
    },
  };
}

/**
 * A pull subscription to an asynchronous iterable: at most one `iterator.next()` outstanding,
 * started only while there is demand. On cancel, `return()` is called at once, even while a
 * `next()` is pending (async generators queue it behind that step; iterators that can abort a
 * pending read release it immediately); the pending step's value, if any, is discarded.
 */
export function pullAsync<T>(iterable: AsyncIterable<T>, sink: Sink<T>): Demand {
  let iterator: AsyncIterator<T>;
  try {
    iterator = iterable[Symbol.asyncIterator]();
    checkIterator(iterator, 'iterable[Symbol.asyncIterator]()');
  } catch (err) {
    sink.error(err);
    return ENDED;
  }
  let demand = 0;
  let pending = false;
  let ended = false;

  const onResult = (result: unknown): void => {
    pending = false;
    if (ended) return; // cancelled while the step ran: its value is not wanted any more
    let done: boolean;
    let value: T;
    try {
      checkResult(result);
      done = result.done === true;
      value = result.value as T;
    } catch (err) {
      ended = true;
      sink.error(err);
      return;
    }
    if (done) {
      ended = true;
      sink.complete();
      return;
    }
    demand--;
    try {
      sink.next(value);
    } catch (err) {
      if (!ended) {
        ended = true;
        closeIterator(iterator);
      }
      reportUnhandledError(err);
      return;
    }
    if (!ended && demand > 0 && !pending) step();
  };

  const onFailure = (err: unknown): void => {
    pending = false;
    if (ended) {
      // The step failed after the consumer cancelled: nobody can take the error.
      reportUnhandledError(err);
      return;
    }
    ended = true;
    sink.error(err);
  };

  const step = (): void => {
    pending = true;
    let next: PromiseLike<IteratorResult<T>> | IteratorResult<T>;
    try {
      next = iterator.next();
    } catch (err) {
      onFailure(err);
      return;
    }
    Promise.resolve(next).then(onResult, onFailure);
  };

  return {
    request(n: number) {
      checkRequest(n);
      if (ended) return;
      demand += n;
      if (!pending) step();
    },
    cancel() {
      if (ended) return;
      ended = true;
      closeIterator(iterator);
    },
  };
}
