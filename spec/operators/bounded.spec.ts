import { catchError, type Observable, of, range, take, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  bounded,
  ChannelFullError,
  fromIterable,
  mpsc,
  type OverflowPolicy,
  workerPool,
} from '../../src/index.js';
import { type Pullable, pull } from '../../src/internal/demand.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const errorAsValue = <T>(source: Observable<T>) =>
  source.pipe(
    catchError((err: unknown) =>
      of(err instanceof ChannelFullError ? `full:${String(err.value)}` : `error:${String(err)}`),
    ),
  );

describe('bounded: marble tests', () => {
  it('passes every message straight through to a plain subscriber', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|');
      expectObservable(source.pipe(bounded(1))).toBe('-a-b-c-|');
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('empty', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(bounded(2))).toBe('|');
    });
  });

  it('never', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(bounded(2))).toBe('-');
    });
  });

  it('a source error reaches a plain subscriber at once', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-#').pipe(bounded(2))).toBe('-a-#');
    });
  });

  it('a source error reaches a slow consumer after the buffered messages', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-ab#').pipe(
        bounded(2),
        workerPool((x: string) => cold('---X|', { X: x }), { concurrency: 1 }),
      );
      // a runs from 1, b waits in the buffer; the error is delivered once b is taken at 5, and
      // the pool lets b finish before it fails
      expectObservable(result).toBe('----a---b#');
    });
  });

  it('early unsubscribe unsubscribes the source, keeping the chain intact', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|');
      const result = source.pipe(
        tap(() => {}),
        bounded(2),
        tap(() => {}),
      );
      expectObservable(result, '----!').toBe('-a-b-');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    let emitted = 0;
    testScheduler().run(({ expectObservable }) => {
      const result = range(1, 1_000_000_000).pipe(
        tap(() => emitted++),
        bounded(2),
        take(3),
      );
      expectObservable(result).toBe('(abc|)', { a: 1, b: 2, c: 3 });
    });
    expect(emitted).toBe(3);
  });

  const policies: Array<[OverflowPolicy, string, string[]]> = [
    // source -abcd|, capacity 2, a consumer that takes one message per 3 frames
    ['drop', '----a---b---c|', ['d:drop']],
    ['replace', '----a---c---d|', ['b:replace']],
    // d does not fit: the source stops; b and c are handed on and run, then the output fails with d
    ['block', '----a---b---c(F|)', []],
    ['error', '----a---b---c(F|)', []],
  ];
  for (const [overflow, expected, reported] of policies) {
    it(`'${overflow}' when the buffer is full`, () => {
      const dropped: string[] = [];
      testScheduler().run(({ hot, cold, expectObservable }) => {
        const result = hot('-abcd|').pipe(
          bounded(2, { overflow, onOverflow: (x, policy) => dropped.push(`${x}:${policy}`) }),
          workerPool((x: string) => cold('---X|', { X: x }), { concurrency: 1 }),
        );
        expectObservable(errorAsValue(result)).toBe(expected, {
          a: 'a',
          b: 'b',
          c: 'c',
          d: 'd',
          F: 'full:d',
        });
      });
      expect(dropped).toEqual(reported);
    });
  }

  it('fills to its limit, then drains', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abc|').pipe(
        bounded(2),
        workerPool((x: string) => cold('---X|', { X: x }), { concurrency: 1 }),
      );
      expectObservable(result).toBe('----a---b---c|');
    });
  });
});

describe('bounded: demand', () => {
  it('pulls a demand-aware upstream only to fill its buffer', () => {
    let produced = 0;
    function* numbers() {
      for (let i = 0; ; i++) {
        produced++;
        yield i;
      }
    }
    const source = fromIterable(numbers()).pipe(bounded(3));
    const seen: number[] = [];
    const demand = (source as unknown as Pullable<number>)[pull]({
      next: (n: number) => seen.push(n),
      error: () => {},
      complete: () => {},
    });
    expect(produced).toBe(0); // lazy until the first request
    demand.request(1);
    expect(seen).toEqual([0]);
    expect(produced).toBe(4); // the one requested, plus a full buffer of 3
    demand.request(2);
    expect(seen).toEqual([0, 1, 2]);
    expect(produced).toBe(6);
    demand.cancel();
  });

  it('a block channel behind bounded keeps its producer waiting', async () => {
    const [tx, rx] = mpsc<number>(1);
    const seen: number[] = [];
    let gate!: () => void;
    const sub = rx
      .pipe(
        bounded(2),
        workerPool((n: number) => new Promise<number>((resolve) => (gate = () => resolve(n)))),
      )
      .subscribe((n) => seen.push(n));
    let accepted = 0;
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await tx.send(i);
        accepted++;
      }
    })();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    // 1 running, 2 in bounded's buffer, 1 in the channel, 1 send waiting
    expect(accepted).toBe(4);
    expect(rx.size).toBe(1);
    gate();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(seen).toEqual([0]);
    expect(accepted).toBe(5);
    sub.unsubscribe();
    rx.close();
    await producer.catch(() => {});
  });

  it('rejects bad arguments with the argument name', () => {
    expect(() => bounded(0)).toThrow(
      'bounded: capacity must be a whole number >= 1 or Infinity, got 0',
    );
    expect(() => bounded(1.5)).toThrow(RangeError);
    expect(() => bounded(Number.NaN)).toThrow('got NaN');
    expect(() => bounded(2, { overflow: 'nope' as never })).toThrow(
      "bounded: overflow must be one of 'block', 'drop', 'replace', 'error', got \"nope\"",
    );
    expect(() => bounded(2, { onOverflow: 1 as never })).toThrow(
      'bounded: onOverflow must be a function, got 1',
    );
  });
});
