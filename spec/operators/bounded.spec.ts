import { catchError, lastValueFrom, type Observable, of, range, take, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  bounded,
  ChannelFullError,
  fromIterable,
  mpsc,
  type OverflowPolicy,
  toAsyncIterable,
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

  it('break out of for await gives what bounded read ahead back to the channel, in order', async () => {
    const [tx, rx] = mpsc<number>(10);
    for (let i = 0; i < 10; i++) await tx.send(i);
    tx.close();
    const first: number[] = [];
    for await (const n of toAsyncIterable(rx.pipe(bounded(3)))) {
      first.push(n);
      if (n === 1) break;
    }
    expect(first).toEqual([0, 1]);
    const rest: number[] = [];
    for await (const n of rx) rest.push(n);
    expect(rest).toEqual([2, 3, 4, 5, 6, 7, 8, 9]); // nothing bounded had taken was dropped
    expect(rx.received).toBe(10);
  });

  it('a graceful drain through bounded processes what bounded had taken; the channel keeps the rest', async () => {
    const [tx, rx] = mpsc<number>(20);
    for (let i = 0; i < 20; i++) await tx.send(i);
    const drain = new AbortController();
    const gates: Array<() => void> = [];
    const done: number[] = [];
    const finished = lastValueFrom(
      rx.pipe(
        bounded(4),
        workerPool(
          (n: number) =>
            new Promise<number>((resolve) => {
              gates.push(() => resolve(n));
            }),
          { concurrency: 2, signal: drain.signal },
        ),
        tap((n) => done.push(n)),
        toArray(),
      ),
    );
    await Promise.resolve();
    expect(gates.length).toBe(2); // 2 running, 4 read ahead into bounded's buffer
    expect(rx.size).toBe(14);
    drain.abort();
    while (gates.length > 0) {
      gates.shift()?.();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    expect((await finished).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rx.size).toBe(14); // nothing taken was thrown away, nothing more was taken
    const rest: number[] = [];
    let r = rx.tryRecv();
    while (r.ok) {
      rest.push(r.value);
      r = rx.tryRecv();
    }
    expect(rest).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
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
