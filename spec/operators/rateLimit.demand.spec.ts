/**
 * rateLimit between sluice stages: what it asks of a demand-aware source, its buffer for a push
 * source, a graceful drain, its timers, and why several windows belong in one operator.
 */
import { asyncScheduler, catchError, map, of, range, Subject, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelFullError, rateLimit, workerPool } from '../../src/index.js';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { ManualClock } from '../queue/manualClock.js';
import { LoggingConsumer, LoggingSource, subscriptionLog } from '../support/demand.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

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
