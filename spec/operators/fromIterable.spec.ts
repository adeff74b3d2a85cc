import fc from 'fast-check';
import { concatAll, config, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { fromIterable } from 'sluice';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Demand, isPullable, pull, type Sink } from '../../src/internal/demand.js';
import { PullIterator } from '../../src/internal/pullIterator.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Lets every pending promise callback run (async generators take a few hops per step). */
async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Event<T> = { next: T } | { error: unknown } | 'complete';

/** A pull sink that records what it receives; `onNext` runs after recording. */
function recorder<T>(onNext?: (value: T) => void) {
  const events: Event<T>[] = [];
  const sink: Sink<T> = {
    next: (value) => {
      events.push({ next: value });
      onNext?.(value);
    },
    error: (error) => events.push({ error }),
    complete: () => events.push('complete'),
  };
  const values = () =>
    events.flatMap((e) => (typeof e === 'object' && 'next' in e ? [e.next] : []));
  return { events, sink, values };
}

function open<T>(source: Observable<T>, sink: Sink<T>): Demand {
  if (!isPullable<T>(source)) throw new Error('expected a pull source');
  return source[pull](sink);
}

/** A counting, closable synchronous iterable: `produced` counts items handed out. */
function counted(limit = Number.POSITIVE_INFINITY) {
  const stats = { produced: 0, returned: 0, iterators: 0 };
  const iterable: Iterable<number> = {
    [Symbol.iterator]() {
      stats.iterators++;
      let n = 0;
      return {
        next() {
          if (n >= limit) return { done: true, value: undefined };
          stats.produced++;
          return { done: false, value: ++n };
        },
        return() {
          stats.returned++;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, stats };
}

/** A hand-driven async iterator: each `next()` waits until the test settles it. */
function manualAsync<T>() {
  const calls: Deferred<IteratorResult<T>>[] = [];
  const stats = { outstanding: 0, maxOutstanding: 0, nextCalls: 0, returnCalls: 0 };
  let returnResult: () => Promise<IteratorResult<T>> = () =>
    Promise.resolve({ done: true, value: undefined });
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      return {
        next() {
          stats.nextCalls++;
          stats.outstanding++;
          stats.maxOutstanding = Math.max(stats.maxOutstanding, stats.outstanding);
          const d = deferred<IteratorResult<T>>();
          calls.push(d);
          return d.promise.finally(() => {
            stats.outstanding--;
          });
        },
        return() {
          stats.returnCalls++;
          return returnResult();
        },
      };
    },
  };
  return {
    iterable,
    stats,
    calls,
    setReturn(fn: () => Promise<IteratorResult<T>>) {
      returnResult = fn;
    },
  };
}

describe('fromIterable', () => {
  describe('plain subscribe behaves like from()', () => {
    it('emits a synchronous iterable synchronously', () => {
      scheduler().run(({ expectObservable }) => {
        expectObservable(fromIterable([1, 2, 3])).toBe('(abc|)', { a: 1, b: 2, c: 3 });
      });
    });

    it('completes at once for an empty iterable', () => {
      scheduler().run(({ expectObservable }) => {
        expectObservable(fromIterable([])).toBe('|');
      });
    });

    it('iterates strings, Sets and Maps', () => {
      scheduler().run(({ expectObservable }) => {
        expectObservable(fromIterable('hi')).toBe('(hi|)');
        expectObservable(fromIterable(new Set(['x', 'y']))).toBe('(xy|)');
        expectObservable(fromIterable(new Map([['k', 1]]))).toBe('(a|)', { a: ['k', 1] });
      });
    });

    it('errors when the iterator throws, after the items before it', () => {
      const boom = new Error('boom');
      let returned = false;
      function* failing() {
        try {
          yield 'a';
          yield 'b';
          throw boom;
        } finally {
          returned = true;
        }
      }
      scheduler().run(({ expectObservable }) => {
        expectObservable(fromIterable({ [Symbol.iterator]: failing })).toBe(
          '(ab#)',
          { a: 'a', b: 'b' },
          boom,
        );
      });
      expect(returned).toBe(true); // the generator's own finally; return() was not needed
    });

    it('stops a synchronous firehose with take(n) and closes the iterator', () => {
      const { iterable, stats } = counted();
      scheduler().run(({ expectObservable }) => {
        expectObservable(fromIterable(iterable).pipe(take(3))).toBe('(abc|)', {
          a: 1,
          b: 2,
          c: 3,
        });
      });
      expect(stats).toEqual({ produced: 3, returned: 1, iterators: 1 });
    });

    it('feeds inner Observables to concatAll one after another (subscription logs)', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const x = cold('-a-|');
        const y = cold('--b|');
        const xs = '     ^--!   ';
        const ys = '     ---^--!';
        const expected = '-a---b|';
        expectObservable(fromIterable([x, y]).pipe(concatAll())).toBe(expected);
        expectSubscriptions(x.subscriptions).toBe(xs);
        expectSubscriptions(y.subscriptions).toBe(ys);
      });
    });

    it('keeps the chain intact on early unsubscribe (subscription logs)', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const x = cold('-a-|');
        const y = cold('--b--c|');
        const unsub = '  ------!  ';
        const expected = '-a---b-';
        expectObservable(fromIterable([x, y]).pipe(concatAll()), unsub).toBe(expected);
        expectSubscriptions(x.subscriptions).toBe('^--!');
        expectSubscriptions(y.subscriptions).toBe('---^--!');
      });
    });

    it('emits an async iterable item after item and completes', async () => {
      async function* letters() {
        yield 'a';
        yield 'b';
        yield 'c';
      }
      await expect(lastValueFrom(fromIterable(letters()).pipe(toArray()))).resolves.toEqual([
        'a',
        'b',
        'c',
      ]);
    });

    it('gives each subscription a fresh iterator', () => {
      const { iterable, stats } = counted(2);
      const source = fromIterable(iterable);
      const a: number[] = [];
      const b: number[] = [];
      source.subscribe((v) => a.push(v));
      source.subscribe((v) => b.push(v));
      expect([a, b]).toEqual([
        [1, 2],
        [1, 2],
      ]);
      expect(stats.iterators).toBe(2);
    });

    it('can consume a generator object only once (it is its own iterator)', () => {
      function* two() {
        yield 1;
        yield 2;
      }
      const source = fromIterable(two());
      const first: number[] = [];
      const second: number[] = [];
      let secondDone = false;
      source.pipe(take(1)).subscribe((v) => first.push(v));
      source.subscribe({ next: (v) => second.push(v), complete: () => (secondDone = true) });
      expect(first).toEqual([1]);
      expect(second).toEqual([]); // take(1) closed the generator
      expect(secondDone).toBe(true);
    });

    it('prefers Symbol.asyncIterator when a value offers both', async () => {
      const both = {
        *[Symbol.iterator]() {
          yield 'sync';
        },
        async *[Symbol.asyncIterator]() {
          yield 'async';
        },
      };
      await expect(lastValueFrom(fromIterable(both))).resolves.toBe('async');
    });
  });

  describe('on demand (pull)', () => {
    it('is a demand-aware source', () => {
      expect(isPullable(fromIterable([1]))).toBe(true);
      expect(isPullable(fromIterable((async function* () {})()))).toBe(true);
    });

    it('takes nothing before a request and exactly what was requested after', () => {
      const { iterable, stats } = counted();
      const { sink, values } = recorder<number>();
      const demand = open(fromIterable(iterable), sink);
      expect(stats.produced).toBe(0);
      demand.request(2);
      expect(values()).toEqual([1, 2]);
      expect(stats.produced).toBe(2);
      demand.request(1);
      expect(values()).toEqual([1, 2, 3]);
      expect(stats.produced).toBe(3);
      demand.cancel();
      expect(stats.returned).toBe(1);
      demand.request(5);
      expect(stats.produced).toBe(3);
    });

    it('notices the end only when one more item is requested (no lookahead)', () => {
      const { iterable } = counted(2);
      const { sink, events } = recorder<number>();
      const demand = open(fromIterable(iterable), sink);
      demand.request(2);
      expect(events).toEqual([{ next: 1 }, { next: 2 }]);
      demand.request(1);
      expect(events).toEqual([{ next: 1 }, { next: 2 }, 'complete']);
    });

    it('a for-await consumer that takes 3 makes the generator produce exactly 3', async () => {
      let produced = 0;
      let closed = false;
      function* naturals() {
        try {
          for (let n = 1; ; n++) {
            produced++;
            yield n;
          }
        } finally {
          closed = true;
        }
      }
      const source = fromIterable({ [Symbol.iterator]: naturals });
      if (!isPullable<number>(source)) throw new Error('expected a pull source');
      const seen: number[] = [];
      for await (const n of new PullIterator(source)) {
        seen.push(n);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([1, 2, 3]);
      expect(produced).toBe(3);
      expect(closed).toBe(true);
    });

    it('handles a request made from inside next without recursion', () => {
      const { iterable, stats } = counted(5);
      let depth = 0;
      let maxDepth = 0;
      let demand: Demand | undefined;
      const { sink, events } = recorder<number>(() => {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        demand?.request(1);
        depth--;
      });
      demand = open(fromIterable(iterable), sink);
      demand.request(1);
      expect(events).toEqual([
        { next: 1 },
        { next: 2 },
        { next: 3 },
        { next: 4 },
        { next: 5 },
        'complete',
      ]);
      expect(maxDepth).toBe(1);
      expect(stats.produced).toBe(5);
    });

    it('does not grow the stack for a huge iterable requested one at a time from inside next', () => {
      const total = 300_000;
      const { iterable } = counted(total);
      let count = 0;
      let completed = false;
      let demand: Demand | undefined;
      demand = open(fromIterable(iterable), {
        next: () => {
          count++;
          demand?.request(1);
        },
        error: (err) => {
          throw err;
        },
        complete: () => (completed = true),
      });
      demand.request(1);
      expect(count).toBe(total);
      expect(completed).toBe(true);
    });

    it('serves a huge request on a long iterable in one loop', () => {
      const total = 1_000_000;
      const { iterable } = counted(total);
      let count = 0;
      const demand = open(fromIterable(iterable), {
        next: () => count++,
        error: (err) => {
          throw err;
        },
        complete: () => {},
      });
      demand.request(Number.POSITIVE_INFINITY);
      expect(count).toBe(total);
    });

    it('stops at once when the sink cancels from inside next, and closes the iterator', () => {
      const { iterable, stats } = counted();
      let demand: Demand | undefined;
      const { sink, values } = recorder<number>((v) => {
        if (v === 2) demand?.cancel();
      });
      demand = open(fromIterable(iterable), sink);
      demand.request(10);
      expect(values()).toEqual([1, 2]);
      expect(stats).toEqual({ produced: 2, returned: 1, iterators: 1 });
    });

    it('does not call return() after the iterator completed or failed', () => {
      const { iterable, stats } = counted(1);
      const { sink } = recorder<number>();
      const demand = open(fromIterable(iterable), sink);
      demand.request(5);
      demand.cancel();
      expect(stats.returned).toBe(0);
    });

    it('closes the iterator as for...of does when a sink throws, and rethrows', () => {
      const { iterable, stats } = counted();
      const bad = new Error('sink broke the protocol');
      const demand = open(fromIterable(iterable), {
        next: () => {
          throw bad;
        },
        error: () => {},
        complete: () => {},
      });
      expect(() => demand.request(3)).toThrow(bad);
      expect(stats).toEqual({ produced: 1, returned: 1, iterators: 1 });
      demand.request(1);
      expect(stats.produced).toBe(1);
    });

    it('refuses a request that is not a whole number >= 1 or Infinity', () => {
      const demand = open(fromIterable([1]), recorder<number>().sink);
      expect(() => demand.request(0)).toThrow(
        new RangeError('fromIterable: request(n) must be a whole number >= 1 or Infinity, got 0'),
      );
      expect(() => demand.request(1.5)).toThrow(RangeError);
    });
  });

  describe('async iterables', () => {
    it('pulls one item at a time, only while there is demand', async () => {
      const m = manualAsync<string>();
      const { sink, events } = recorder<string>();
      const demand = open(fromIterable(m.iterable), sink);
      await flush();
      expect(m.stats.nextCalls).toBe(0);

      demand.request(2);
      expect(m.stats.nextCalls).toBe(1); // one step at a time, even with demand 2
      m.calls[0]!.resolve({ done: false, value: 'a' });
      await flush();
      expect(events).toEqual([{ next: 'a' }]);
      expect(m.stats.nextCalls).toBe(2);
      m.calls[1]!.resolve({ done: false, value: 'b' });
      await flush();
      expect(events).toEqual([{ next: 'a' }, { next: 'b' }]);
      expect(m.stats.nextCalls).toBe(2); // demand used up: no lookahead

      demand.request(5);
      demand.request(5); // a second request while a step is pending starts no second step
      expect(m.stats.nextCalls).toBe(3);
      m.calls[2]!.resolve({ done: true, value: undefined });
      await flush();
      expect(events).toEqual([{ next: 'a' }, { next: 'b' }, 'complete']);
      expect(m.stats.maxOutstanding).toBe(1);
      expect(m.stats.returnCalls).toBe(0);
    });

    it('with a plain subscription never has two next() calls outstanding', async () => {
      const m = manualAsync<number>();
      const seen: number[] = [];
      let done = false;
      fromIterable(m.iterable).subscribe({
        next: (v) => seen.push(v),
        complete: () => (done = true),
      });
      for (let i = 0; i < 5; i++) {
        expect(m.stats.outstanding).toBe(1);
        m.calls[i]!.resolve({ done: false, value: i });
        await flush();
      }
      m.calls[5]!.resolve({ done: true, value: undefined });
      await flush();
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(done).toBe(true);
      expect(m.stats.maxOutstanding).toBe(1);
    });

    it('requests made from inside next continue the pull', async () => {
      async function* three() {
        yield 1;
        yield 2;
        yield 3;
      }
      let demand: Demand | undefined;
      const { sink, events } = recorder<number>(() => demand?.request(1));
      demand = open(fromIterable(three()), sink);
      demand.request(1);
      await flush(30);
      expect(events).toEqual([{ next: 1 }, { next: 2 }, { next: 3 }, 'complete']);
    });

    it('errors when next() rejects, without calling return()', async () => {
      const m = manualAsync<number>();
      const boom = new Error('boom');
      const { sink, events } = recorder<number>();
      open(fromIterable(m.iterable), sink).request(3);
      m.calls[0]!.resolve({ done: false, value: 1 });
      await flush();
      m.calls[1]!.reject(boom);
      await flush();
      expect(events).toEqual([{ next: 1 }, { error: boom }]);
      expect(m.stats.returnCalls).toBe(0);
    });

    it('errors when next() throws synchronously or returns a non-object', async () => {
      const boom = new Error('sync boom');
      const throwing: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => {
            throw boom;
          },
        }),
      };
      const t = recorder<number>();
      open(fromIterable(throwing), t.sink).request(1);
      expect(t.events).toEqual([{ error: boom }]);

      const odd = {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(42) }),
      } as unknown as AsyncIterable<number>;
      const o = recorder<number>();
      open(fromIterable(odd), o.sink).request(1);
      await flush();
      expect(o.events).toEqual([
        { error: new TypeError('fromIterable: iterator.next() must return an object, got 42') },
      ]);
    });

    it('calls return() at once on unsubscribe, even while next() is pending', async () => {
      const m = manualAsync<string>();
      const { sink, events } = recorder<string>();
      const demand = open(fromIterable(m.iterable), sink);
      demand.request(1);
      expect(m.stats.outstanding).toBe(1);
      demand.cancel();
      expect(m.stats.returnCalls).toBe(1);
      m.calls[0]!.resolve({ done: false, value: 'late' }); // discarded
      await flush();
      expect(events).toEqual([]);
      demand.request(1);
      demand.cancel();
      expect(m.stats.nextCalls).toBe(1);
      expect(m.stats.returnCalls).toBe(1);
    });

    it('runs an async generator’s finally on unsubscribe (take)', async () => {
      let closed = false;
      let produced = 0;
      async function* naturals() {
        try {
          for (let n = 1; ; n++) {
            produced++;
            yield n;
          }
        } finally {
          closed = true;
        }
      }
      const first = await lastValueFrom(fromIterable(naturals()).pipe(take(2), toArray()));
      expect(first).toEqual([1, 2]);
      await flush();
      expect(closed).toBe(true);
      expect(produced).toBe(2);
    });
  });

  describe('errors with nowhere to go are reported, not swallowed', () => {
    let reported: unknown[];
    const previous = config.onUnhandledError;
    beforeEach(() => {
      reported = [];
      config.onUnhandledError = (err) => reported.push(err);
    });
    afterEach(() => {
      config.onUnhandledError = previous;
    });

    it('reports an exception thrown by a synchronous return()', async () => {
      const boom = new Error('close failed');
      const iterable: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => ({ done: false, value: 1 }),
          return: () => {
            throw boom;
          },
        }),
      };
      const sub = fromIterable(iterable).pipe(take(2)).subscribe();
      expect(sub.closed).toBe(true);
      await flush(2);
      expect(reported).toEqual([boom]);
    });

    it('reports a rejection from an asynchronous return()', async () => {
      const m = manualAsync<number>();
      const boom = new Error('async close failed');
      m.setReturn(() => Promise.reject(boom));
      const sub = fromIterable(m.iterable).subscribe();
      sub.unsubscribe();
      await flush();
      expect(reported).toEqual([boom]);
    });

    it('reports a step that fails after the unsubscribe', async () => {
      const m = manualAsync<number>();
      const boom = new Error('failed while cancelling');
      const sub = fromIterable(m.iterable).subscribe();
      sub.unsubscribe();
      m.calls[0]!.reject(boom);
      await flush();
      expect(reported).toEqual([boom]);
    });

    it('reports an exception from an async sink and closes the iterator', async () => {
      const m = manualAsync<number>();
      const bad = new Error('sink broke the protocol');
      open(fromIterable(m.iterable), {
        next: () => {
          throw bad;
        },
        error: () => {},
        complete: () => {},
      }).request(2);
      m.calls[0]!.resolve({ done: false, value: 1 });
      await flush();
      expect(reported).toEqual([bad]);
      expect(m.stats.returnCalls).toBe(1);
      expect(m.stats.nextCalls).toBe(1);
    });

    it('rethrows asynchronously when no onUnhandledError is set', async () => {
      config.onUnhandledError = null;
      const boom = new Error('close failed');
      const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
        expect(task).toThrow(boom);
      });
      try {
        const iterable: Iterable<number> = {
          [Symbol.iterator]: () => ({
            next: () => ({ done: false, value: 1 }),
            return: () => {
              throw boom;
            },
          }),
        };
        fromIterable(iterable).pipe(take(1)).subscribe();
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('bad input', () => {
    it.each([
      [null, 'null'],
      [undefined, 'undefined'],
      [42, '42'],
      [{}, 'an object (Object)'],
      [{ next: () => ({ done: true }) }, 'an object (Object)'],
      [() => [1], 'a function'],
    ])('throws a TypeError at the call for %s', (value, given) => {
      expect(() => fromIterable(value as Iterable<unknown>)).toThrow(
        new TypeError(`fromIterable: iterable must be an Iterable or AsyncIterable, got ${given}`),
      );
    });

    it('errors the subscription when [Symbol.iterator]() throws or returns no iterator', () => {
      const boom = new Error('cannot open');
      const broken: Iterable<number> = {
        [Symbol.iterator]: () => {
          throw boom;
        },
      };
      const errors: unknown[] = [];
      fromIterable(broken).subscribe({ error: (e) => errors.push(e) });
      const noIterator = { [Symbol.iterator]: () => 5 } as unknown as Iterable<number>;
      fromIterable(noIterator).subscribe({ error: (e) => errors.push(e) });
      expect(errors).toEqual([
        boom,
        new TypeError('fromIterable: iterable[Symbol.iterator]() must return an iterator, got 5'),
      ]);
    });

    it('errors with a TypeError when a synchronous next() returns a non-object', () => {
      const odd = {
        [Symbol.iterator]: () => ({ next: () => 'x' }),
      } as unknown as Iterable<string>;
      const errors: unknown[] = [];
      fromIterable(odd).subscribe({ error: (e) => errors.push(e) });
      expect(errors).toEqual([
        new TypeError('fromIterable: iterator.next() must return an object, got "x"'),
      ]);
    });
  });

  describe('properties', () => {
    const requests = fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 30 });

    it('delivers exactly the array in order and never takes more than requested (sync)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer()),
          requests,
          fc.array(fc.boolean(), { maxLength: 50 }),
          (items, pattern, reentrant) => {
            let produced = 0;
            const iterable: Iterable<number> = {
              *[Symbol.iterator]() {
                for (const item of items) {
                  produced++;
                  yield item;
                }
              },
            };
            let requested = 0;
            let demand: Demand | undefined;
            let calls = 0;
            const { sink, events, values } = recorder<number>(() => {
              if (reentrant[calls++ % Math.max(reentrant.length, 1)] === true) {
                requested++;
                demand?.request(1);
              }
            });
            demand = open(fromIterable(iterable), sink);
            for (const n of pattern) {
              requested += n;
              demand.request(n);
              expect(produced).toBeLessThanOrEqual(requested);
              expect(values().length).toBe(produced); // nothing taken ahead
            }
            // Then ask for the rest: the whole array, in order, then completion.
            demand.request(items.length + 1);
            expect(values()).toEqual(items);
            expect(events.at(-1)).toBe('complete');
            expect(produced).toBe(items.length);
          },
        ),
      );
    });

    it('delivers exactly the array in order, one step at a time (async)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer(), { maxLength: 20 }),
          requests,
          async (items, pattern) => {
            let produced = 0;
            let outstanding = 0;
            let maxOutstanding = 0;
            const iterable: AsyncIterable<number> = {
              [Symbol.asyncIterator]() {
                let i = 0;
                return {
                  async next() {
                    outstanding++;
                    maxOutstanding = Math.max(maxOutstanding, outstanding);
                    await Promise.resolve();
                    outstanding--;
                    if (i >= items.length) return { done: true, value: undefined };
                    produced++;
                    return { done: false, value: items[i++]! };
                  },
                };
              },
            };
            let requested = 0;
            const { sink, events, values } = recorder<number>();
            const demand = open(fromIterable(iterable), sink);
            for (const n of pattern) {
              requested += n;
              demand.request(n);
              await flush(4);
              expect(produced).toBeLessThanOrEqual(requested);
            }
            demand.request(Number.POSITIVE_INFINITY);
            await flush(4 * (items.length + 2));
            expect(values()).toEqual(items);
            expect(events.at(-1)).toBe('complete');
            expect(maxOutstanding).toBe(1);
          },
        ),
      );
    });
  });
});
