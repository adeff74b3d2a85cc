import {
  asyncScheduler,
  BehaviorSubject,
  catchError,
  map,
  merge,
  type Observable,
  of,
  range,
  Subject,
  take,
  tap,
  toArray,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelFullError, fromIterable, rateLimit, workerPool } from '../../src/index.js';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { ManualClock } from '../queue/manualClock.js';
import { LoggingConsumer, LoggingSource, subscriptionLog } from '../support/demand.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('rateLimit: marble tests', () => {
  it('lets limit messages through per sliding window, each as early as allowed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abcd-----|');
      expectObservable(source.pipe(rateLimit({ limit: 2, interval: 5 }))).toBe('ab---cd--|');
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('checks every window, not fixed buckets', () => {
    // a fixed 10-frame bucket would let c, d through at 10 right after a, b at 8-9
    testScheduler().run(({ hot, expectObservable }) => {
      const source = hot('--------abcd------|');
      expectObservable(source.pipe(rateLimit({ limit: 2, interval: 10 }))).toBe(
        '--------ab--------c(d|)',
      );
    });
  });

  it('passes an idle stream through without delay', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const source = hot('a----b----c|');
      expectObservable(source.pipe(rateLimit({ limit: 1, interval: 5 }))).toBe('a----b----c|');
    });
  });

  it('empty', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(rateLimit({ limit: 1, interval: 5 }))).toBe('|');
    });
  });

  it('never', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-');
      expectObservable(source.pipe(rateLimit({ limit: 1, interval: 5 }))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('a source error arrives after the message waiting for its time', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('ab#');
      expectObservable(source.pipe(rateLimit({ limit: 1, interval: 4 }))).toBe('a---(b#)');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('completion waits for what is buffered', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('abc|').pipe(rateLimit({ limit: 1, interval: 3 }))).toBe('a--b--(c|)');
    });
  });

  it('unsubscribing cancels the source and the timer', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('abcdef');
      expectObservable(source.pipe(rateLimit({ limit: 1, interval: 3 })), '^----!').toBe('a--b--');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      let pulled = 0;
      const source = fromIterable(
        (function* () {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        })(),
      );
      expectObservable(source.pipe(rateLimit({ limit: 2, interval: 5 }), take(5))).toBe(
        '(ab)-(cd)-(e|)',
        { a: 0, b: 1, c: 2, d: 3, e: 4 },
      );
      flush();
      // the iterator is pulled only when a unit is free: never drained ahead
      expect(pulled).toBe(5);
    });
  });

  it('weighs messages by cost', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: 3, b: 2, c: 1 });
      expectObservable(
        source.pipe(rateLimit({ limit: 4, interval: 5, cost: (n: number) => n })),
      ).toBe('a----(bc|)', { a: 3, b: 2, c: 1 });
    });
  });

  it('holds several windows at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|');
      const limited = source.pipe(
        rateLimit({
          windows: [
            { limit: 2, interval: 2 },
            { limit: 3, interval: 10 },
          ],
        }),
      );
      // 2 per 2 frames lets a, b, c through at 0-2; 3 per 10 holds d until a leaves (10),
      // e until b leaves (11), f until c leaves (12)
      expectObservable(limited).toBe('abc-------de(f|)');
    });
  });

  it('burst smooths a window: burst 1 spaces messages evenly', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd|').pipe(rateLimit({ limit: 4, interval: 8, burst: 1 }))).toBe(
        'a-b-c-(d|)',
      );
    });
  });

  it('a changing limit applies at once, counting what already left', () => {
    testScheduler().run(({ cold, hot, flush }) => {
      const limit = hot<number>('l-----m', { l: 1, m: 3 });
      const source = cold('abcdefg|');
      // one per 4 frames until frame 6, then three per 4 frames: at 6, b (at 4) still counts
      expect(timeline(source.pipe(rateLimit({ limit, interval: 4 })), flush)).toEqual([
        '0:a',
        '4:b',
        '6:c',
        '6:d',
        '8:e',
        '10:f',
        '10:g',
        '10:|',
      ]);
    });
  });

  it('a lowered limit holds back what the old one would have let through', () => {
    testScheduler().run(({ cold, hot, flush }) => {
      const limit = hot<number>('l-m', { l: 3, m: 1 });
      const source = cold('ab----cd|');
      // a, b at 0-1 under 3; at 2 the limit is 1 with two inside (0, 2]: c waits until both
      // have left (at 5 a leaves, b at 6: c at 6 can go only when the window holds 0)
      expect(timeline(source.pipe(rateLimit({ limit, interval: 5 })), flush)).toEqual([
        '0:a',
        '1:b',
        '6:c',
        '11:d',
        '11:|',
      ]);
    });
  });

  it('a limit of 0 pauses, and nothing leaves before the limit has a value', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const limit = hot<number>('--l-z---l', { l: 5, z: 0 });
      const source = cold('ab----c|');
      expectObservable(source.pipe(rateLimit({ limit, interval: 100 }))).toBe('--(ab)--(c|)');
      expectSubscriptions(limit.subscriptions).toBe('^-------!');
    });
  });

  it('a bad limit value fails the output, naming it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const limit = cold<number>('a-b', { a: 1, b: -1 });
      expectObservable(cold('a').pipe(rateLimit({ limit, interval: 10 }))).toBe(
        'a-#',
        undefined,
        new RangeError('rateLimit: limit must be a whole number >= 0, got -1'),
      );
    });
  });

  it('a limit that completes without a value fails the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const limit = cold<number>('--|');
      expectObservable(cold('a').pipe(rateLimit({ limit, interval: 10 }))).toBe(
        '--#',
        undefined,
        new RangeError('rateLimit: limit completed without ever giving a value'),
      );
    });
  });

  it('a limit Observable error fails the output', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b');
      const limit = cold<number>('l--#', { l: 1 });
      expectObservable(source.pipe(rateLimit({ limit, interval: 10 }))).toBe('a--#');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('a message costing more than the limit fails the output', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('ab', { a: 1, b: 9 });
      expectObservable(
        source.pipe(rateLimit({ limit: 4, interval: 10, cost: (n: number) => n })),
      ).toBe(
        'a#',
        { a: 1 },
        new RangeError('rateLimit: cost(message) must be at most the limit (4), got 9'),
      );
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('cost that throws or returns a bad number fails the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      expectObservable(
        cold('a').pipe(
          rateLimit({
            limit: 4,
            interval: 10,
            cost: () => {
              throw boom;
            },
          }),
        ),
      ).toBe('#', undefined, boom);
      expectObservable(cold('a').pipe(rateLimit({ limit: 4, interval: 10, cost: () => 1.5 }))).toBe(
        '#',
        undefined,
        new RangeError('rateLimit: cost(message) must return a whole number >= 0, got 1.5'),
      );
    });
  });

  it('a message of cost 0 does not use the window', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: 1, b: 0, c: 1 });
      expectObservable(
        source.pipe(rateLimit({ limit: 1, interval: 5, cost: (n: number) => n })),
      ).toBe('a----(bc|)', { a: 1, b: 0, c: 1 });
    });
  });

  it('is reentrant: a message fed back from inside next is limited like the rest', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const loop = new Subject<number>();
      const output = merge(cold('a', { a: 0 }), loop).pipe(
        rateLimit({ limit: 1, interval: 2 }),
        tap((n) => loop.next(n + 1)),
        take(4),
      );
      expectObservable(output).toBe('a-b-c-(d|)', { a: 0, b: 1, c: 2, d: 3 });
    });
  });
});

describe('rateLimit: demand', () => {
  it('pulls a demand-aware source only when its consumer wants a message and a unit is free', () => {
    testScheduler().run(({ flush }) => {
      const source = new LoggingSource('abcdef', asyncScheduler);
      const consumer = new LoggingConsumer(
        source.pipe(rateLimit({ limit: 2, interval: 10 })),
        asyncScheduler,
      );
      expect(source.requested).toBe(0);
      consumer.request(5);
      expect(consumer.values).toEqual(['a', 'b']);
      expect(source.requested).toBe(2); // a third unit is not free: c is not taken
      flush();
      expect(consumer.values).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(source.requested).toBe(5); // the consumer wanted 5: f is left in the source
      consumer.request(1);
      flush();
      expect(consumer.values).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
      expect(consumer.completed).toBe(true);
      expect(source.subscriptions).toEqual([subscriptionLog('^-------------------!')]);
    });
  });

  it('its output is demand-aware: a worker pool behind it takes messages at its own pace', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const source = new LoggingSource([1, 2, 3, 4], asyncScheduler);
      const output = source.pipe(
        rateLimit({ limit: 10, interval: 100 }),
        workerPool((n: number) => cold('---x|', { x: n }), { concurrency: 1 }),
      );
      expectObservable(output).toBe('---a---b---c---d|', { a: 1, b: 2, c: 3, d: 4 });
      flush();
      // one message at a time, each when the pool had a free worker
      expect(source.requests).toEqual([0, 4, 8, 12].map((frame) => ({ frame, n: 1 })));
    });
  });

  it('buffers a push source under capacity and the overflow policy, reporting every discard', () => {
    const dropped: number[] = [];
    const subject = new Subject<number>();
    const consumer = new LoggingConsumer(
      subject.pipe(
        rateLimit({
          limit: 1,
          interval: 1000,
          capacity: 2,
          overflow: 'drop',
          onOverflow: (n: number) => dropped.push(n),
        }),
      ),
      asyncScheduler,
    );
    consumer.request(10);
    for (let i = 1; i <= 5; i++) subject.next(i);
    // 1 leaves at once; 2 and 3 fill the buffer while no unit is free; 4 and 5 are dropped
    expect(consumer.values).toEqual([1]);
    expect(dropped).toEqual([4, 5]);
    consumer.cancel();
    expect(subject.observed).toBe(false);
  });

  it("a push source overflowing 'block' fails with ChannelFullError carrying the message", () => {
    testScheduler().run(({ expectObservable }) => {
      // a plain subscriber has unlimited demand, but the limit holds messages back: 1 leaves,
      // 2, 3, 4 fill the buffer of 3, 5 does not fit; the error comes after 2, 3, 4
      const output = range(1, 10).pipe(
        rateLimit({ limit: 1, interval: 1, capacity: 3 }),
        map(String),
        catchError((err: unknown) =>
          of(
            err instanceof ChannelFullError ? `full:${String(err.value)}` : `error:${String(err)}`,
          ),
        ),
      );
      expectObservable(output).toBe('abc(de|)', { a: '1', b: '2', c: '3', d: '4', e: 'full:5' });
    });
  });

  it('a synchronous push source passes straight through while the limit allows, buffering nothing', () => {
    testScheduler().run(({ expectObservable }) => {
      const output = range(0, 5000).pipe(
        rateLimit({ limit: 1_000_000, interval: 1000, capacity: 1 }),
        toArray(),
        map((all) => all.length),
      );
      expectObservable(output).toBe('(n|)', { n: 5000 });
    });
  });

  it('subscribes a push source even while paused, buffering what it sends meanwhile', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const limit = hot<number>('---l', { l: 2 });
      const source = hot('-ab-c|');
      expectObservable(source.pipe(rateLimit({ limit, interval: 10, capacity: 2 }))).toBe(
        '---(ab)------(c|)',
      );
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });
});

describe('rateLimit: graceful drain', () => {
  it('a draining worker pool behind it gets the waiting message, then the end', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('abcdef');
      const controller = new AbortController();
      cold('---x').subscribe(() => controller.abort());
      const output = source.pipe(
        rateLimit({ limit: 1, interval: 2 }),
        workerPool((s: string) => of(s), { concurrency: 1, signal: controller.signal }),
      );
      // a at 0, b at 2, c taken at 2 to wait for frame 4; the drain at 3 stops the intake, and
      // c still leaves at 4, then the end
      expectObservable(output).toBe('a-b-(c|)');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('rateLimit: bad input', () => {
  const cases: [string, unknown, string][] = [
    ['no config', undefined, 'rateLimit: config must be an object'],
    ['limit 0', { limit: 0, interval: 10 }, 'rateLimit: limit must be a whole number >= 1, got 0'],
    [
      'limit a string',
      { limit: '5', interval: 10 },
      'rateLimit: limit must be a whole number >= 1 or an Observable of numbers, got "5"',
    ],
    [
      'interval 0',
      { limit: 1, interval: 0 },
      'rateLimit: interval must be a finite number of milliseconds > 0, got 0',
    ],
    [
      'burst above limit',
      { limit: 2, interval: 10, burst: 3 },
      'rateLimit: burst must be at most limit (2), got 3',
    ],
    ['misspelled option', { limit: 1, interval: 1, cots: 1 }, 'did you mean "cost"?'],
    [
      'windows and limit',
      { windows: [{ limit: 1, interval: 1 }], limit: 1 },
      'rateLimit: give either windows or limit and interval, not both',
    ],
    ['empty windows', { windows: [] }, 'rateLimit: windows must be a non-empty array'],
    [
      'a bad window',
      { windows: [{ limit: 1, interval: 1 }, { limit: 1 }] },
      'rateLimit: windows[1]: interval must be a finite number of milliseconds > 0, got undefined',
    ],
    ['capacity 0', { limit: 1, interval: 1, capacity: 0 }, 'rateLimit: capacity must be'],
    [
      'cost not a function',
      { limit: 1, interval: 1, cost: 1 },
      'rateLimit: cost must be a function',
    ],
  ];
  for (const [name, config, message] of cases) {
    it(name, () => {
      expect(() => rateLimit(config as never)).toThrow(message);
    });
  }

  it('accepts an Observable limit with any burst', () => {
    expect(() =>
      rateLimit({ limit: new BehaviorSubject(1) as Observable<number>, interval: 5, burst: 9 }),
    ).not.toThrow();
    expect(() => rateLimit({ limit: of(1).pipe(map((n) => n)), interval: 5 })).not.toThrow();
  });
});

/** `frame:value` for every value and `frame:|` or `frame:#` for the end, after `flush()`. */
function timeline<T>(source: Observable<T>, flush: () => void): string[] {
  const out: string[] = [];
  const now = () => asyncScheduler.now();
  source.subscribe({
    next: (value) => out.push(`${now()}:${String(value)}`),
    error: () => out.push(`${now()}:#`),
    complete: () => out.push(`${now()}:|`),
  });
  flush();
  return out;
}

describe('rateLimit: timers', () => {
  it('waits past 2^31-1 ms in clamped steps, and leaves no timer behind', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const sub = of('a', 'b', 'c')
      .pipe(rateLimit({ limit: 1, interval: 3e9, scheduler: clock }))
      .subscribe((m) => seen.push(m));
    expect(seen).toEqual(['a']);
    clock.advance(3e9 - 1);
    expect(seen).toEqual(['a']);
    clock.advance(1);
    expect(seen).toEqual(['a', 'b']);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    expect(clock.pending).toBeGreaterThan(0); // c waits
    sub.unsubscribe();
    expect(clock.pending).toBe(0);
  });

  it('leaves no timer behind once complete', () => {
    const clock = new ManualClock();
    let done = false;
    of('a', 'b')
      .pipe(rateLimit({ limit: 1, interval: 10, scheduler: clock }))
      .subscribe({ complete: () => (done = true) });
    clock.runAll();
    expect(done).toBe(true);
    expect(clock.pending).toBe(0);
  });
});

describe('rateLimit: several windows in one operator, not two operators', () => {
  /** Releases as [frame, cost], for weighted messages a (2), b (2), c (1) all sent at 0. */
  function releases(pipeTwice: boolean): [number, number][] {
    const out: [number, number][] = [];
    testScheduler().run(({ cold, flush }) => {
      const cost = (n: number) => n;
      const source = cold('(abc|)', { a: 2, b: 2, c: 1 });
      const limited = pipeTwice
        ? source.pipe(
            rateLimit({ limit: 2, interval: 1, cost }),
            rateLimit({ limit: 3, interval: 2, cost }),
          )
        : source.pipe(
            rateLimit({
              windows: [
                { limit: 2, interval: 1 },
                { limit: 3, interval: 2 },
              ],
              cost,
            }),
          );
      limited.subscribe((n) => out.push([asyncScheduler.now(), n]));
      flush();
    });
    return out;
  }
  /** The most cost released within any window of `length` frames. */
  const most = (out: [number, number][], length: number) =>
    Math.max(
      ...out.map(([t]) =>
        out.filter(([o]) => o <= t && o + length > t).reduce((sum, [, c]) => sum + c, 0),
      ),
    );

  it('windows holds every limit at the output', () => {
    const out = releases(false);
    expect(out.map(([, c]) => c)).toEqual([2, 2, 1]);
    expect(most(out, 1)).toBeLessThanOrEqual(2);
    expect(most(out, 2)).toBeLessThanOrEqual(3);
  });

  it('two operators in a row can exceed the first limit with weighted messages', () => {
    const out = releases(true);
    expect(most(out, 1)).toBeGreaterThan(2);
  });
});
