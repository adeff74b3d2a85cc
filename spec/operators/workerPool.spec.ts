import fc from 'fast-check';
import {
  catchError,
  map,
  type Observable,
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
import { ChannelFullError, fromIterable, mpsc, workerPool } from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Turns an error into a value so marbles can compare it without comparing Error objects. */
const errorAsValue = <T>(source: Observable<T>) =>
  source.pipe(
    catchError((err: unknown) =>
      of(err instanceof ChannelFullError ? `full:${String(err.value)}` : `error:${String(err)}`),
    ),
  );

describe('workerPool: marble tests', () => {
  it('runs N jobs at once and emits results as they finish', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|');
      const inners = {
        a: cold('    ----A|'),
        b: cold('      ----B|'),
        c: cold('         ----C|'),
        d: cold('           ----D|'),
      };
      const expected = '  -----A-B--C-D|';
      const result = source.pipe(
        workerPool((x: string) => inners[x as keyof typeof inners], { concurrency: 2 }),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe('^--------!');
      expectSubscriptions(inners.a.subscriptions).toBe('-^----!');
      expectSubscriptions(inners.b.subscriptions).toBe('---^----!');
      expectSubscriptions(inners.c.subscriptions).toBe('------^----!');
      expectSubscriptions(inners.d.subscriptions).toBe('--------^----!');
    });
  });

  it('concurrency 1 runs one job at a time, like concatMap', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('-ab|');
      const work = (x: string) => cold('--X|', { X: x.toUpperCase() });
      expectObservable(source.pipe(workerPool(work, { concurrency: 1 }))).toBe('---A--B|');
    });
  });

  it('ordered: true emits in input order, holding early results', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab|');
      const inners: Record<string, Observable<string>> = { a: cold('-----A|'), b: cold('-B|') };
      const ordered = source.pipe(
        workerPool((x: string) => inners[x]!, { concurrency: 2, ordered: true }),
      );
      const unordered = source.pipe(workerPool((x: string) => inners[x]!, { concurrency: 2 }));
      expectObservable(ordered).toBe('-----A(B|)');
      expectObservable(unordered).toBe('--B--A|');
    });
  });

  it('ordered: a held job keeps its worker, so the reorder buffer never exceeds concurrency', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abc|');
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('------A|'),
        b: cold('-B|'),
        c: cold('-C|'),
      };
      const result = source.pipe(
        workerPool((x: string) => inners[x]!, { concurrency: 2, ordered: true }),
      );
      // b finishes at 3 but holds its worker until a completes at 7, so c starts only then
      expectObservable(result).toBe('------ABC|');
      expectSubscriptions(inners.c!.subscriptions).toBe('-------^-!');
    });
  });

  it('empty source completes at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(workerPool(() => of(1)))).toBe('|');
    });
  });

  it('never source never emits or completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(workerPool(() => of(1)))).toBe('-');
    });
  });

  it('a source error fails the output and unsubscribes running jobs', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-#');
      const inner = cold('----A|');
      expectObservable(source.pipe(workerPool(() => inner))).toBe('---#');
      expectSubscriptions(inner.subscriptions).toBe('-^-!');
    });
  });

  it('a job that throws fails the output', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const result = hot('-a-b').pipe(
        workerPool((): Observable<string> => {
          throw 'boom';
        }),
      );
      expectObservable(result).toBe('-#', undefined, 'boom');
    });
  });

  it('a failing job fails the output and aborts the other running jobs', () => {
    const signals: AbortSignal[] = [];
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const inners: Record<string, Observable<string>> = {
        a: cold('-----A|'),
        b: cold('-#', undefined, 'bad'),
      };
      const result = hot('-ab').pipe(
        workerPool(
          (x: string, { signal }) => {
            signals.push(signal);
            return inners[x]!;
          },
          { concurrency: 2 },
        ),
      );
      expectObservable(result).toBe('---#', undefined, 'bad');
    });
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
  });

  it('onJobError reports each failure with its job and keeps the pool running', () => {
    const failures: Array<{ job: string; error: unknown; workerId: number }> = [];
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const inners: Record<string, Observable<string>> = {
        a: cold('--#', undefined, 'bad a'),
        b: cold('--B|'),
      };
      const result = hot('-ab|').pipe(
        workerPool((x: string) => inners[x]!, {
          concurrency: 1,
          onJobError: (f) => failures.push(f),
        }),
      );
      expectObservable(result).toBe('-----B|');
    });
    expect(failures).toEqual([{ job: 'a', error: 'bad a', workerId: 0 }]);
  });

  it('an onJobError that throws fails the output', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-a|').pipe(
        workerPool(() => cold('-#', undefined, 'bad'), {
          onJobError: () => {
            throw 'reporter failed';
          },
        }),
      );
      expectObservable(result).toBe('--#', undefined, 'reporter failed');
    });
  });

  it('early unsubscribe tears down the source and the running jobs, keeping the chain intact', () => {
    let inner!: ReturnType<TestScheduler['createColdObservable']>;
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|');
      inner = cold('---X|');
      const result = source.pipe(
        tap(() => {}),
        workerPool(() => inner, { concurrency: 2 }),
        tap(() => {}),
      );
      expectObservable(result, '------!').toBe('----X-');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
    expect(inner.subscriptions).toEqual([
      { subscribedFrame: 1, unsubscribedFrame: 5 },
      { subscribedFrame: 3, unsubscribedFrame: 6 },
      { subscribedFrame: 5, unsubscribedFrame: 6 },
    ]);
  });

  it('unsubscribing aborts the signal of each running job', () => {
    const signals: AbortSignal[] = [];
    const subject = new Subject<number>();
    const sub = subject
      .pipe(
        workerPool(
          (_n: number, { signal }) => {
            signals.push(signal);
            return new Promise<number>(() => {});
          },
          { concurrency: 2 },
        ),
      )
      .subscribe();
    subject.next(1);
    subject.next(2);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
    sub.unsubscribe();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    let emitted = 0;
    testScheduler().run(({ expectObservable }) => {
      const result = range(1, 1_000_000_000).pipe(
        tap(() => emitted++),
        workerPool((n: number) => of(n * 10), { concurrency: 3 }),
        take(3),
      );
      expectObservable(result).toBe('(abc|)', { a: 10, b: 20, c: 30 });
    });
    expect(emitted).toBe(3);
  });

  it('a pushed job that does not fit fails the output under block, carrying it, after the accepted jobs', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-abc---|');
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('----A|'),
        b: cold('----B|'),
      };
      const result = source.pipe(
        workerPool((x: string) => inners[x]!, { concurrency: 1, capacity: 1 }),
      );
      // a runs, b waits in the queue, c does not fit: the source stops; a and b run to the end,
      // then the output fails with c
      expectObservable(errorAsValue(result)).toBe('-----A----B(F|)', {
        A: 'A',
        B: 'B',
        F: 'full:c',
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(inners.a!.subscriptions).toBe('-^----!');
      expectSubscriptions(inners.b!.subscriptions).toBe('------^----!');
    });
  });

  it("'error' behaves like 'block' for a push source", () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abc---|').pipe(
        workerPool(() => cold('----X|'), { concurrency: 1, capacity: 1, overflow: 'error' }),
      );
      expectObservable(errorAsValue(result)).toBe('-----X----X(F|)', { X: 'X', F: 'full:c' });
    });
  });

  it("'drop' discards the incoming job and reports it", () => {
    const dropped: string[] = [];
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abc---|').pipe(
        workerPool((x: string) => cold('----X|', { X: x.toUpperCase() }), {
          concurrency: 1,
          capacity: 1,
          overflow: 'drop',
          onOverflow: (job, policy) => dropped.push(`${job}:${policy}`),
        }),
      );
      expectObservable(result).toBe('-----A----B|');
    });
    expect(dropped).toEqual(['c:drop']);
  });

  it("'replace' discards the oldest queued job and reports it", () => {
    const dropped: string[] = [];
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abc---|').pipe(
        workerPool((x: string) => cold('----X|', { X: x.toUpperCase() }), {
          concurrency: 1,
          capacity: 1,
          overflow: 'replace',
          onOverflow: (job, policy) => dropped.push(`${job}:${policy}`),
        }),
      );
      expectObservable(result).toBe('-----A----C|');
    });
    expect(dropped).toEqual(['b:replace']);
  });

  it('fills the queue to its limit, then drains it', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abcd|').pipe(
        workerPool((x: string) => cold('--X|', { X: x.toUpperCase() }), {
          concurrency: 1,
          capacity: 3,
        }),
      );
      expectObservable(result).toBe('---A--B--C--D|');
    });
  });

  for (const option of ['drain', 'signal'] as const) {
    const named = option === 'drain' ? 'drain' : 'signal (the deprecated alias of drain)';
    it(`aborting ${named} drains: intake stops, running and queued jobs finish, then completes`, () => {
      testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const controller = new AbortController();
        const source = hot('-abcd-e-|');
        cold('---x').subscribe(() => controller.abort());
        const result = source.pipe(
          workerPool((x: string) => cold('---X|', { X: x.toUpperCase() }), {
            concurrency: 1,
            [option]: controller.signal,
          }),
        );
        // at 3 'a' runs, 'b' is queued; 'c', 'd', 'e' are never taken
        expectObservable(result).toBe('----A---B|');
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it(`an already aborted ${named} completes at once`, () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const controller = new AbortController();
        controller.abort();
        expectObservable(
          hot('-a|').pipe(workerPool(() => of(1), { [option]: controller.signal })),
        ).toBe('|');
      });
    });
  }

  it('refuses drain and its deprecated alias signal together, naming both', () => {
    const controller = new AbortController();
    expect(() =>
      workerPool(() => of(1), { drain: controller.signal, signal: controller.signal }),
    ).toThrow(/workerPool: drain and signal .* pass only drain, got both/);
  });

  it('workerId stays within 0..concurrency-1 and is reused', () => {
    const ids: number[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('abcd|').pipe(
        workerPool(
          (x: string, { workerId }) => {
            ids.push(workerId);
            return cold('--X|', { X: x });
          },
          { concurrency: 2 },
        ),
      );
      expectObservable(result).toBe('--ab-cd|');
    });
    expect(ids).toEqual([0, 1, 0, 1]);
  });

  it('concurrency may be an Observable: raising it starts waiting jobs at once', () => {
    const starts: string[] = [];
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limit = cold('a---b', { a: 1, b: 3 });
      const result = cold('abcde|').pipe(
        workerPool(
          (x: string, { workerId }) => {
            starts.push(`${x}@${scheduler.now()}#${workerId}`);
            return cold('---X|', { X: x });
          },
          { concurrency: limit },
        ),
      );
      expectObservable(result.pipe(toArray())).toBe('------------(v|)', {
        v: ['a', 'b', 'c', 'd', 'e'],
      });
    });
    // 1 worker until frame 4, then 3: b and c start with the new workers, d when a's worker frees
    expect(starts).toEqual(['a@0#0', 'b@4#1', 'c@4#2', 'd@4#0', 'e@8#1']);
  });

  it('lowering concurrency lets running jobs finish and starts no new one above the limit', () => {
    const starts: string[] = [];
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limit = cold('a-b', { a: 3, b: 1 });
      const result = cold('abcdef|').pipe(
        workerPool(
          (x: string) => {
            starts.push(`${x}@${scheduler.now()}`);
            return cold('---X|', { X: x });
          },
          { concurrency: limit },
        ),
      );
      expectObservable(result.pipe(toArray())).toBe('---------------------(v|)', {
        v: ['a', 'b', 'c', 'd', 'e', 'f'],
      });
    });
    // the limit drops to 1 at frame 2, just before c arrives: c waits until a and b are done
    expect(starts).toEqual(['a@0', 'b@1', 'c@5', 'd@9', 'e@13', 'f@17']);
  });

  it('a bad concurrency value from the Observable fails the output', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const limit = cold('a-b', { a: 1, b: -1 });
      const result = hot('-').pipe(workerPool(() => of(1), { concurrency: limit }));
      expectObservable(result).toBe(
        '--#',
        undefined,
        new RangeError(
          'workerPool: concurrency from its Observable must be a whole number >= 0 (0 pauses) or Infinity, got -1',
        ),
      );
    });
  });

  it('emits every value of a job that emits several', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('a|').pipe(workerPool(() => cold('-x-y|')));
      expectObservable(result).toBe('-x-y|');
    });
  });

  it('rejects bad arguments with the argument name', () => {
    expect(() => workerPool(42 as never)).toThrow(/workerPool: work must be a function, got 42/);
    expect(() => workerPool(() => of(1), { concurrency: 0 })).toThrow(
      /workerPool: concurrency must be a whole number >= 1 or Infinity, got 0/,
    );
    expect(() => workerPool(() => of(1), { capacity: -1 })).toThrow(/workerPool: capacity must be/);
    expect(() => workerPool(() => of(1), { overflow: 'fast' as never })).toThrow(
      /workerPool: overflow must be one of/,
    );
    expect(() => workerPool(() => of(1), { ordered: 'yes' as never })).toThrow(
      /workerPool: ordered must be true or false/,
    );
    expect(() => workerPool(() => of(1), { drain: {} as never })).toThrow(
      /workerPool: drain must be an AbortSignal, got/,
    );
    expect(() => workerPool(() => of(1), { signal: {} as never })).toThrow(
      /workerPool: signal must be an AbortSignal/,
    );
  });
});

describe('workerPool: promises and pull sources', () => {
  it('pulls one job per free worker from fromIterable', async () => {
    let pulled = 0;
    function* jobs() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const gates: Array<() => void> = [];
    const results: number[] = [];
    const done = new Promise<void>((resolve) => {
      fromIterable(jobs())
        .pipe(
          workerPool((n: number) => new Promise<number>((r) => gates.push(() => r(n))), {
            concurrency: 3,
          }),
        )
        .subscribe({ next: (n) => results.push(n), complete: resolve });
    });
    expect(pulled).toBe(3);
    gates.shift()!();
    await Promise.resolve();
    await Promise.resolve();
    expect(pulled).toBe(4);
    while (results.length < 100) {
      gates.shift()?.();
      await Promise.resolve();
      await Promise.resolve();
    }
    await done;
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('end-to-end: a block channel of capacity C feeding K workers never has more than C + K accepted and unfinished', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(3), { minLength: 1, maxLength: 40 }),
        async (capacity, concurrency, delays) => {
          const [tx, rx] = mpsc<number>(capacity);
          let accepted = 0;
          let finished = 0;
          let maxUnfinished = 0;
          const producer = (async () => {
            for (let i = 0; i < delays.length; i++) {
              await tx.send(i);
              accepted++;
              maxUnfinished = Math.max(maxUnfinished, accepted - finished);
            }
            tx.close();
          })();
          const results: number[] = [];
          await new Promise<void>((resolve, reject) => {
            rx.pipe(
              workerPool(
                async (n: number) => {
                  for (let t = 0; t < delays[n]!; t++) await Promise.resolve();
                  finished++;
                  return n;
                },
                { concurrency },
              ),
            ).subscribe({ next: (n) => results.push(n), error: reject, complete: resolve });
          });
          await producer;
          expect(results.slice().sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
          // every accepted message is either buffered in the channel or held by a worker
          expect(maxUnfinished).toBeLessThanOrEqual(capacity + concurrency);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('end-to-end: fromIterable over a generator never has more than K pulled and unfinished', async () => {
    let pulled = 0;
    let finished = 0;
    let maxUnfinished = 0;
    function* gen() {
      for (let i = 0; i < 500; i++) {
        pulled++;
        maxUnfinished = Math.max(maxUnfinished, pulled - finished);
        yield i;
      }
    }
    const results: number[] = [];
    await new Promise<void>((resolve) => {
      fromIterable(gen())
        .pipe(
          workerPool(
            async (n: number) => {
              await Promise.resolve();
              finished++;
              return n;
            },
            { concurrency: 4 },
          ),
        )
        .subscribe({ next: (n) => results.push(n), complete: resolve });
    });
    expect(results).toHaveLength(500);
    expect(maxUnfinished).toBeLessThanOrEqual(4);
  });

  it('a rejected promise fails the output like mergeMap', async () => {
    const result = new Promise((resolve, reject) =>
      fromIterable([1, 2])
        .pipe(workerPool(async () => Promise.reject(new Error('nope'))))
        .subscribe({
          next: resolve,
          error: reject,
        }),
    );
    await expect(result).rejects.toThrow('nope');
  });

  it('a promise settling after unsubscribe is ignored', async () => {
    let settle!: (n: number) => void;
    const seen: number[] = [];
    const sub = fromIterable([1])
      .pipe(workerPool(() => new Promise<number>((r) => (settle = r))))
      .subscribe((n) => seen.push(n));
    sub.unsubscribe();
    settle(1);
    await Promise.resolve();
    expect(seen).toEqual([]);
  });
});

describe('workerPool: properties', () => {
  it('every job is processed exactly once or reported as dropped; ordered keeps input order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 6 })), {
          minLength: 0,
          maxLength: 30,
        }),
        fc.constantFrom('drop' as const, 'replace' as const),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (jobs, overflow, capacity, concurrency, ordered) => {
          const processed: number[] = [];
          const dropped: number[] = [];
          let running = 0;
          let maxRunning = 0;
          let completed = false;
          const scheduler = new TestScheduler(() => {});
          scheduler.run(({ cold }) => {
            // job i arrives after a random gap and takes a random time
            let marble = '';
            const values: Record<string, number> = {};
            jobs.forEach(([gap], i) => {
              const key = String.fromCharCode(0x100 + i);
              values[key] = i;
              marble += '-'.repeat(gap) + key;
            });
            cold(`${marble}|`, values)
              .pipe(
                workerPool(
                  (i: number) => {
                    running++;
                    maxRunning = Math.max(maxRunning, running);
                    return timer(jobs[i]![1]).pipe(
                      map(() => i),
                      tap({ complete: () => running-- }),
                    );
                  },
                  { capacity, concurrency, overflow, ordered, onOverflow: (i) => dropped.push(i) },
                ),
              )
              .subscribe({ next: (i) => processed.push(i), complete: () => (completed = true) });
          });
          expect(completed).toBe(true);
          const all = [...processed, ...dropped].sort((a, b) => a - b);
          expect(all).toEqual(jobs.map((_, i) => i));
          expect(maxRunning).toBeLessThanOrEqual(concurrency);
          if (ordered) expect(processed).toEqual(processed.slice().sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });
});
