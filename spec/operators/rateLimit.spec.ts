import {
  asyncScheduler,
  BehaviorSubject,
  map,
  merge,
  type Observable,
  of,
  Subject,
  take,
  tap,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { fromIterable, rateLimit } from '../../src/index.js';

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

describe('rateLimit: bad input', () => {
  const cases: [string, unknown, string][] = [
    ['no options', undefined, 'rateLimit: options must be an object'],
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
