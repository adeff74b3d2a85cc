import {
  asyncScheduler,
  bufferTime,
  map,
  merge,
  of,
  range,
  Subject,
  take,
  tap,
  timer,
  toArray,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batch, fromIterable, workerPool } from '../../src/index.js';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { ManualClock } from '../queue/manualClock.js';
import { LoggingConsumer, LoggingSource, subscriptionLog } from '../support/demand.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('batch: marble tests', () => {
  it('emits full batches at once, a partial one time after its first message, the rest at the end', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abcd-----e|');
      expectObservable(source.pipe(batch({ size: 3, time: 4 }))).toBe('--x----y--(z|)', {
        x: ['a', 'b', 'c'],
        y: ['d'],
        z: ['e'],
      });
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
  });

  it('the timer starts at a batch’s first message, so a quiet source emits nothing', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const source = hot('a------b--|');
      expectObservable(source.pipe(batch({ size: 5, time: 3 }))).toBe('---x------(y|)', {
        x: ['a'],
        y: ['b'],
      });
      // bufferTime, by contrast, emits on a fixed period, empty arrays included
      expectObservable(source.pipe(bufferTime(3, null, 5))).toBe('---x--y--z(w|)', {
        x: ['a'],
        y: [],
        z: ['b'],
        w: [],
      });
    });
  });

  it('time Infinity: batches leave by size or at the end only', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a----b-c---|').pipe(batch({ size: 2, time: Infinity }))).toBe(
        '-----x-----(y|)',
        { x: ['a', 'b'], y: ['c'] },
      );
    });
  });

  it('a synchronous push source is batched as it comes, buffering nothing', () => {
    testScheduler().run(({ expectObservable }) => {
      const output = range(0, 5000).pipe(
        batch({ size: 10, time: 5, capacity: 1 }),
        toArray(),
        map((all) => [all.length, all.every((b) => b.length === 10)]),
      );
      expectObservable(output).toBe('(n|)', { n: [500, true] });
    });
  });

  it('size 1 passes each message on its own', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab-c|').pipe(batch({ size: 1, time: 10 }))).toBe('xy-z|', {
        x: ['a'],
        y: ['b'],
        z: ['c'],
      });
    });
  });

  it('empty', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(batch({ size: 2, time: 5 }))).toBe('|');
    });
  });

  it('never', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-');
      expectObservable(source.pipe(batch({ size: 2, time: 5 }))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('a source error arrives after the batch of the messages before it', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('ab#');
      expectObservable(source.pipe(batch({ size: 5, time: 10 }))).toBe('--(x#)', {
        x: ['a', 'b'],
      });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('unsubscribing cancels the source and the timer, discarding the partial batch', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('abcde');
      expectObservable(source.pipe(batch({ size: 2, time: 3 })), '^---!').toBe('-x-y-', {
        x: ['a', 'b'],
        y: ['c', 'd'],
      });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('a synchronous firehose is stopped by take(n), pulling only what the batches need', () => {
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
      expectObservable(source.pipe(batch({ size: 3, time: 5 }), take(2))).toBe('(xy|)', {
        x: [0, 1, 2],
        y: [3, 4, 5],
      });
      flush();
      expect(pulled).toBe(6);
    });
  });

  it('is reentrant: a message fed back from inside next joins the next batch', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const loop = new Subject<number>();
      const output = merge(cold('a', { a: 0 }), loop).pipe(
        batch({ size: 2, time: 2 }),
        tap((b) => loop.next(b[b.length - 1]! + 1)),
        take(3),
      );
      expectObservable(output).toBe('--x-y-(z|)', { x: [0], y: [1], z: [2] });
    });
  });
});

describe('batch: demand', () => {
  it('pulls a demand-aware source at most one batch ahead of its consumer', () => {
    testScheduler().run(({ flush }) => {
      const source = new LoggingSource('abcdefghij', asyncScheduler);
      const consumer = new LoggingConsumer(
        source.pipe(batch({ size: 3, time: 5 })),
        asyncScheduler,
      );
      expect(source.requested).toBe(0);
      consumer.request(1);
      expect(consumer.values).toEqual([['a', 'b', 'c']]);
      expect(source.requested).toBe(6); // the next batch is assembled, and no more
      flush();
      expect(consumer.values).toEqual([['a', 'b', 'c']]);
      expect(source.requested).toBe(6);
      consumer.request(2);
      expect(consumer.values).toEqual([
        ['a', 'b', 'c'],
        ['d', 'e', 'f'],
        ['g', 'h', 'i'],
      ]);
      expect(source.requested).toBe(12);
      // the source ended after j: [j] is sealed and waits for demand
      flush();
      expect(consumer.completed).toBe(false);
      consumer.request(1);
      expect(consumer.values.at(-1)).toEqual(['j']);
      expect(consumer.completed).toBe(true);
      expect(source.subscriptions).toEqual([subscriptionLog('(^!)')]);
    });
  });

  it('a partial batch sealed while its consumer is busy waits for demand, then leaves', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a--b-----c|').pipe(
        batch({ size: 10, time: 2 }),
        workerPool((b: string[]) => timer(6).pipe(map(() => b.join(''))), { concurrency: 1 }),
      );
      // [a] leaves at 2 and runs until 8; [b] is sealed at 5 and waits; it runs from 8 to 14;
      // [c] is sealed at 11 and runs from 14 to 20
      expectObservable(output).toBe('--------x-----y-----(z|)', { x: 'a', y: 'b', z: 'c' });
    });
  });

  it('batch -> workerPool holds a demand-aware source back at the pool’s pace', () => {
    testScheduler().run(({ flush }) => {
      let pulled = 0;
      let processed = 0;
      let worst = 0;
      const size = 5;
      const source = fromIterable(
        (function* () {
          for (let i = 0; i < 1000; i++) {
            pulled++;
            worst = Math.max(worst, pulled - processed);
            yield i;
          }
        })(),
      );
      const seen: number[] = [];
      source
        .pipe(
          batch({ size, time: 3 }),
          workerPool((b: number[]) => timer(10).pipe(map(() => b)), { concurrency: 2 }),
        )
        .subscribe((b) => {
          processed += b.length;
          seen.push(...b);
        });
      flush();
      expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      // two batches in the pool, one waiting in the pool's queue, one being assembled
      expect(worst).toBeLessThanOrEqual(size * 4);
    });
  });

  it('buffers a push source under capacity and the overflow policy, reporting every discard', () => {
    testScheduler().run(() => {
      const dropped: number[] = [];
      const subject = new Subject<number>();
      const consumer = new LoggingConsumer(
        subject.pipe(
          batch({
            size: 2,
            time: 10,
            capacity: 2,
            overflow: 'drop',
            onOverflow: (n: number) => dropped.push(n),
          }),
        ),
        asyncScheduler,
      );
      consumer.request(1);
      for (let i = 1; i <= 8; i++) subject.next(i);
      // [1, 2] leaves, [3, 4] waits sealed, 5 and 6 fill the buffer, 7 and 8 are dropped
      expect(consumer.values).toEqual([[1, 2]]);
      expect(dropped).toEqual([7, 8]);
      consumer.request(2);
      expect(consumer.values).toEqual([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      consumer.cancel();
      expect(subject.observed).toBe(false);
    });
  });
});

describe('batch: graceful drain', () => {
  it('a draining worker pool behind it gets the partial batch at once, then the end', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('abcdef');
      const controller = new AbortController();
      cold('---x').subscribe(() => controller.abort());
      const output = source.pipe(
        batch({ size: 2, time: 10 }),
        workerPool((b: string[]) => of(b.join('')), { concurrency: 1, signal: controller.signal }),
      );
      // [a, b] at 1; c waits for company; the drain at 3 stops the intake and seals [c]
      expectObservable(output).toBe('-x-(y|)', { x: 'ab', y: 'c' });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('batch: bad input', () => {
  const cases: [string, unknown, string][] = [
    ['no options', undefined, 'batch: options must be an object'],
    ['size 0', { size: 0, time: 1 }, 'batch: size must be a whole number >= 1, got 0'],
    ['size Infinity', { size: Infinity, time: 1 }, 'batch: size must be a whole number >= 1'],
    [
      'time negative',
      { size: 1, time: -1 },
      'batch: time must be a number of milliseconds >= 0 or Infinity, got -1',
    ],
    ['time missing', { size: 1 }, 'batch: time must be'],
    ['misspelled option', { size: 1, time: 1, sise: 2 }, 'did you mean "size"?'],
    ['bad overflow', { size: 1, time: 1, overflow: 'wait' }, 'batch: overflow must be one of'],
  ];
  for (const [name, config, message] of cases) {
    it(name, () => {
      expect(() => batch(config as never)).toThrow(message);
    });
  }

  it('never emits an empty batch, even when completed by an empty source', () => {
    testScheduler().run(({ expectObservable }) => {
      expectObservable(of<number>().pipe(batch({ size: 2, time: 1 }))).toBe('|');
    });
  });
});

describe('batch: timers', () => {
  it('waits past 2^31-1 ms in clamped steps, and leaves no timer behind', () => {
    const clock = new ManualClock();
    const seen: string[][] = [];
    const source = new Subject<string>();
    const sub = source
      .pipe(batch({ size: 10, time: 3e9, scheduler: clock }))
      .subscribe((b) => seen.push(b));
    source.next('a');
    clock.advance(3e9 - 1);
    expect(seen).toEqual([]);
    clock.advance(1);
    expect(seen).toEqual([['a']]);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    expect(clock.pending).toBe(0); // no message, no timer
    source.next('b');
    expect(clock.pending).toBeGreaterThan(0);
    sub.unsubscribe();
    expect(clock.pending).toBe(0);
  });

  it('leaves no timer behind once complete', () => {
    const clock = new ManualClock();
    let done = false;
    of('a', 'b', 'c')
      .pipe(batch({ size: 2, time: 10, scheduler: clock }))
      .subscribe({ complete: () => (done = true) });
    expect(done).toBe(true);
    expect(clock.pending).toBe(0);
  });
});
