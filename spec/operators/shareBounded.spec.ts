import {
  catchError,
  count,
  lastValueFrom,
  map,
  mergeMap,
  type Observable,
  of,
  Observable as RxObservable,
  Subject,
  take,
  takeWhile,
  timer,
  toArray,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelFullError, fromIterable, mpsc, shareBounded, workerPool } from '../../src/index.js';
import { type Demand, isPullable, type Pullable, pull } from '../../src/internal/demand.js';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const errorAsValue = <T>(source: Observable<T>) =>
  source.pipe(
    catchError((err: unknown) =>
      of(err instanceof ChannelFullError ? `full:${String(err.value)}` : `error:${String(err)}`),
    ),
  );

/** A job that takes `frames` of virtual time and returns its input. */
const slow =
  (frames: number) =>
  <T>(job: T) =>
    timer(frames).pipe(map(() => job));

/** A pull reader as a sluice consumer opens one, recording what reaches it. */
function puller<T>(source: Observable<T>) {
  const got: T[] = [];
  const log: string[] = [];
  const demand: Demand = (source as unknown as Pullable<T>)[pull]({
    next: (v) => got.push(v),
    error: (e) => log.push(`error:${e instanceof Error ? e.message : String(e)}`),
    complete: () => log.push('complete'),
  });
  return { got, log, demand };
}

/** 0, 1, 2, ... n - 1, pulled on demand, counting what was produced. */
function counted(n: number) {
  const state = { produced: 0 };
  function* numbers() {
    for (let i = 0; i < n; i++) {
      state.produced++;
      yield i;
    }
  }
  return { source: fromIterable(numbers()), state };
}

describe('shareBounded: arguments', () => {
  it.each([
    [0, RangeError, 'shareBounded: capacity must be a whole number >= 1, got 0'],
    [
      Number.POSITIVE_INFINITY,
      RangeError,
      'shareBounded: capacity must be a whole number >= 1, got Infinity',
    ],
    ['2', TypeError, 'shareBounded: capacity must be a whole number >= 1, got "2"'],
  ])('rejects capacity %s', (capacity, kind, message) => {
    expect(() => shareBounded(capacity as number)).toThrow(kind);
    expect(() => shareBounded(capacity as number)).toThrow(message);
  });

  it('rejects bad options, naming them', () => {
    expect(() => shareBounded(1, null as never)).toThrow(
      new TypeError('shareBounded: options must be an object, got null'),
    );
    expect(() => shareBounded(1, { overflow: 'spill' as never })).toThrow(TypeError);
    expect(() => shareBounded(1, { onOverflow: 1 as never })).toThrow(TypeError);
    expect(() => shareBounded(1, { resetOnRefCountZero: 'yes' as never })).toThrow(
      'shareBounded: resetOnRefCountZero must be',
    );
  });
});

describe('shareBounded: marble tests with plain subscribers (as share)', () => {
  it('mirrors the source and subscribes it once', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c|');
      const shared = source.pipe(shareBounded(2));
      expectObservable(shared).toBe('-a-b-c|');
      expectObservable(shared).toBe('-a-b-c|');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('empty, never, error', () => {
    marbles().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(shareBounded(2))).toBe('|');
      expectObservable(cold('-').pipe(shareBounded(2))).toBe('-');
      expectObservable(cold('-a#').pipe(shareBounded(2))).toBe('-a#');
    });
  });

  it('late subscribers start at the next message; connect with the first, disconnect with the last', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-e-f-g-|');
      const shared = source.pipe(shareBounded(2));
      expectObservable(shared, '--^-----!').toBe('---b-c-d');
      expectObservable(shared, '----^------!').toBe('-----c-d-e-');
      expectObservable(shared, '-------------^-!').toBe('-------------g');
      expectSubscriptions(source.subscriptions).toBe(['--^--------!', '-------------^-!']);
    });
  });

  it('keeps the source subscribed at refCount 0 with resetOnRefCountZero: false', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|');
      const shared = source.pipe(shareBounded(2, { resetOnRefCountZero: false }));
      expectObservable(shared, '^--!').toBe('-a-');
      expectObservable(shared, '------^').toBe('-------d-|');
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('resubscribes after the end, or replays the end without reset', () => {
    marbles().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const ends = cold('-a|');
      const fails = cold('-a#');
      const again = ends.pipe(shareBounded(2));
      const sticky = fails.pipe(shareBounded(2, { resetOnError: false }));
      expectObservable(again).toBe('-a|');
      expectObservable(hot('----x|').pipe(mergeMap(() => again))).toBe('-----a|');
      expectObservable(sticky).toBe('-a#');
      expectObservable(hot('----x|').pipe(mergeMap(() => sticky))).toBe('----#');
      expectSubscriptions(ends.subscriptions).toBe(['^-!', '----^-!']);
      expectSubscriptions(fails.subscriptions).toBe('^-!');
    });
  });

  it('completes late subscribers at once with resetOnComplete: false', () => {
    marbles().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('-a|');
      const shared = source.pipe(shareBounded(2, { resetOnComplete: false }));
      expectObservable(shared).toBe('-a|');
      expectObservable(hot('----x|').pipe(mergeMap(() => shared))).toBe('-----|');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('early unsubscribe keeps the chain intact', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      const result = source.pipe(
        mergeMap((x) => of(x)),
        shareBounded(2),
        mergeMap((x) => of(x)),
      );
      expectObservable(result, '----!').toBe('-a-b');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('stops a synchronous firehose as soon as take(n) has enough', () => {
    const produced: number[] = [];
    const firehose = new RxObservable<number>((subscriber) => {
      for (let i = 0; i < 1000 && !subscriber.closed; i++) {
        produced.push(i);
        subscriber.next(i);
      }
    });
    const got: number[] = [];
    firehose.pipe(shareBounded(1), take(3)).subscribe((n) => got.push(n));
    expect(got).toEqual([0, 1, 2]);
    expect(produced).toEqual([0, 1, 2]);
  });

  it('a throwing onOverflow reaches the code that emitted', () => {
    const source = new Subject<number>();
    const shared = source.pipe(
      shareBounded(1, {
        overflow: 'drop',
        onOverflow: () => {
          throw new Error('reporter failed');
        },
      }),
    );
    const reader = puller(shared);
    reader.demand.request(1); // connects; takes 1, then holds
    source.next(1);
    source.next(2); // held for the reader, which has no demand
    expect(() => source.next(3)).toThrow('reporter failed');
    expect(reader.got).toEqual([1]);
  });

  it('its output is demand-aware', () => {
    expect(isPullable(of(1).pipe(shareBounded(1)))).toBe(true);
  });
});

describe('shareBounded: re-entrant subscribers', () => {
  it('a subscriber that joins from inside next starts at the message after the current one', () => {
    const source = new Subject<string>();
    const shared = source.pipe(shareBounded(2));
    const first: string[] = [];
    const late: string[] = [];
    shared.subscribe((v) => {
      first.push(v);
      if (v === 'b') shared.subscribe((w) => late.push(w));
    });
    for (const v of ['a', 'b', 'c', 'd']) source.next(v);
    expect(first).toEqual(['a', 'b', 'c', 'd']);
    expect(late).toEqual(['c', 'd']);
  });

  it('a reader that leaves from inside next stops at once; the others read on', () => {
    const { source, state } = counted(10);
    const shared = source.pipe(shareBounded(2));
    const quitter: number[] = [];
    const stayer = puller(shared);
    // takeWhile unsubscribes from inside the delivery of 1 (the source runs synchronously)
    shared.pipe(takeWhile((n) => n < 1, true)).subscribe((n) => quitter.push(n));
    stayer.demand.request(10);
    expect(quitter).toEqual([0, 1]);
    expect(stayer.got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(state.produced).toBe(10);
  });

  it('a reader that asks for more from inside next gets it in order, without recursion', () => {
    const { source } = counted(5000);
    const shared = source.pipe(shareBounded(1));
    const got: number[] = [];
    let demand: Demand | undefined;
    demand = (shared as unknown as Pullable<number>)[pull]({
      next: (v) => {
        got.push(v);
        demand?.request(1);
      },
      error: () => {},
      complete: () => {},
    });
    demand.request(1);
    expect(got.length).toBe(5000);
    expect(got[4999]).toBe(4999);
  });

  it('a message the source emits from inside a subscriber waits until every subscriber got the current one', () => {
    const source = new Subject<number>();
    const shared = source.pipe(shareBounded(2));
    const a: number[] = [];
    const b: number[] = [];
    shared.subscribe((n) => {
      a.push(n);
      if (n === 1) source.next(2);
    });
    shared.subscribe((n) => b.push(n));
    source.next(1);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]); // never 2 before 1
  });
});

describe('shareBounded: a push source meets the slowest subscriber', () => {
  it("'drop': a slow worker holds capacity messages; what does not fit is reported and skipped by all", () => {
    const dropped: string[] = [];
    marbles().run(({ hot, expectObservable }) => {
      const shared = hot('-a-b-c-d-e-|').pipe(
        shareBounded(1, { overflow: 'drop', onOverflow: (v) => dropped.push(v) }),
      );
      // The worker takes a at 1 (busy until 6) and b waits in the one slot, so c finds it
      // full; at 6 the worker takes b, d waits, e finds it full.
      expectObservable(shared).toBe('-a-b---d---|');
      expectObservable(shared.pipe(workerPool(slow(5), { concurrency: 1 }))).toBe(
        '------a----b----(d|)',
      );
    });
    expect(dropped).toEqual(['c', 'e']);
  });

  it("'replace': the slow worker skips the oldest held message, reported; the fast one sees all", () => {
    const replaced: string[] = [];
    marbles().run(({ hot, expectObservable }) => {
      const shared = hot('-a-b-c-d-e-|').pipe(
        shareBounded(1, { overflow: 'replace', onOverflow: (v) => replaced.push(v) }),
      );
      expectObservable(shared).toBe('-a-b-c-d-e-|');
      expectObservable(shared.pipe(workerPool(slow(5), { concurrency: 1 }))).toBe(
        '------a----c----(e|)',
      );
    });
    // c replaced b, which the worker had not read; e replaced d the same way
    expect(replaced).toEqual(['b', 'd']);
  });

  it("'block' (default): the source is dropped and every subscriber fails after what it was owed", () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|');
      const shared = source.pipe(shareBounded(1));
      const values = { a: 'a', b: 'b', x: 'full:c' };
      // b waits for the busy worker, c does not fit: the plain subscriber fails at once; the
      // pool takes b at 6 and finishes it (a job it took is never thrown away), then fails
      expectObservable(errorAsValue(shared)).toBe('-a-b-(x|)', values);
      expectObservable(errorAsValue(shared.pipe(workerPool(slow(5), { concurrency: 1 })))).toBe(
        '------a----(bx|)',
        values,
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it("'error': a pull reader reads what was held for it, then gets ChannelFullError", () => {
    const source = new Subject<number>();
    const reader = puller(source.pipe(shareBounded(2, { overflow: 'error' })));
    reader.demand.request(1);
    source.next(1);
    source.next(2);
    source.next(3); // 1 went straight to the reader, 2 and 3 are held
    expect(source.observed).toBe(true);
    source.next(4); // does not fit: the source is dropped at once
    expect(source.observed).toBe(false);
    expect(reader.log).toEqual([]);
    reader.demand.request(5);
    expect(reader.got).toEqual([1, 2, 3]);
    expect(reader.log).toEqual([
      "error:shareBounded: buffer is full (capacity 2) and a push source cannot wait; feed it from a demand-aware source (a sluice channel or fromIterable), raise capacity, or choose the 'drop' or 'replace' policy",
    ]);
  });

  it('a subscriber that leaves releases its messages: the others are not held up', () => {
    const dropped: string[] = [];
    marbles().run(({ hot, expectObservable }) => {
      const shared = hot('-a-b-c-d-e-|').pipe(
        shareBounded(1, { overflow: 'drop', onOverflow: (v) => dropped.push(v) }),
      );
      expectObservable(shared).toBe('-a-b---d-e-|');
      expectObservable(shared.pipe(workerPool(slow(5), { concurrency: 1 })), '^------!').toBe(
        '------a',
      );
    });
    expect(dropped).toEqual(['c']); // only while the worker held b; after it left, nothing
  });
});

describe('shareBounded: a demand-aware source is paced by the slowest subscriber', () => {
  it('two pull readers: the producer never runs more than capacity ahead of the slower', () => {
    const { source, state } = counted(100);
    const shared = source.pipe(shareBounded(3));
    const fast = puller(shared);
    const slowOne = puller(shared);
    fast.demand.request(50);
    expect(state.produced).toBe(3); // nothing read by the slow one: 3 held
    expect(fast.got).toEqual([0, 1, 2]);
    slowOne.demand.request(1);
    expect(state.produced).toBe(4);
    expect(fast.got).toEqual([0, 1, 2, 3]);
    slowOne.demand.cancel(); // leaving releases: the fast one runs on
    expect(fast.got.length).toBe(50);
    expect(state.produced).toBe(53);
  });

  it('a channel producer waits for the slowest worker; every message reaches every subscriber', async () => {
    const [tx, rx] = mpsc<number>(2);
    const shared = rx.pipe(shareBounded(4));
    let release: (() => void) | undefined;
    const gate = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    const slowResults = lastValueFrom(
      shared.pipe(
        workerPool(async (n: number) => {
          await gate();
          return n;
        }),
        toArray(),
      ),
    );
    const fastResults = lastValueFrom(shared.pipe(toArray()));
    let sent = 0;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await tx.send(i);
        sent++;
      }
      tx.close();
    })();
    for (let turn = 0; turn < 20; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      // held by the share (4) + the channel (2) + the running job (1)
      expect(sent - turn).toBeLessThanOrEqual(4 + 2 + 1);
      release?.();
    }
    await producer;
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    expect(await slowResults).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await fastResults).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a late pull reader starts at the next message and counts from then on', () => {
    const { source } = counted(10);
    const shared = source.pipe(shareBounded(2));
    const first = puller(shared);
    first.demand.request(3);
    const late = puller(shared);
    late.demand.request(10);
    first.demand.request(10);
    expect(first.got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(late.got).toEqual([5, 6, 7, 8, 9]); // 3 and 4 were already fetched for the first
    expect(first.log).toEqual(['complete']);
    expect(late.log).toEqual(['complete']);
  });

  it('20,000 synchronous messages through two readers at constant stack depth', () => {
    const { source } = counted(20_000);
    const shared = source.pipe(shareBounded(16));
    const a = puller(shared);
    const b = puller(shared);
    a.demand.request(Number.POSITIVE_INFINITY);
    b.demand.request(Number.POSITIVE_INFINITY);
    expect(a.got.length).toBe(20_000);
    expect(b.got.length).toBe(20_000);
    expect(b.log).toEqual(['complete']);
  });
});

describe('shareBounded: room across RxJS operators', () => {
  it('a pool before it, through map, is paced by the slowest subscriber', async () => {
    let produced = 0;
    function* numbers() {
      for (let i = 0; i < 2000; i++) {
        produced++;
        yield i;
      }
    }
    let slowDone = 0;
    let mostAhead = 0;
    const shared = fromIterable(numbers()).pipe(
      workerPool(async (n: number) => n, { concurrency: 4 }), // both subscribers join first
      map((n) => n * 2),
      shareBounded(4),
    );
    const slow = lastValueFrom(
      shared.pipe(
        workerPool(
          async (n: number) => {
            await new Promise((resolve) => setImmediate(resolve));
            slowDone++;
            mostAhead = Math.max(mostAhead, produced - slowDone);
            return n;
          },
          { concurrency: 1, capacity: 2 },
        ),
        count(),
      ),
    );
    const fast = lastValueFrom(shared.pipe(count()));
    const [slowCount, fastCount] = await Promise.all([slow, fast]);
    expect(slowCount).toBe(2000);
    expect(fastCount).toBe(2000);
    // the pool in front holds at most 4, the share 4, the slow tail 2 + 1: never the whole source
    expect(mostAhead).toBeLessThanOrEqual(4 + 4 + 2 + 1 + 2);
  });
});
