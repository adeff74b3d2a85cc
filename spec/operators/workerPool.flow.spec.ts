import fc from 'fast-check';
import {
  catchError,
  defer,
  finalize,
  map,
  type Observable,
  of,
  type SchedulerAction,
  type SchedulerLike,
  Subject,
  timer,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  fromIterable,
  type JobFailure,
  JobTimeoutError,
  mpsc,
  workerPool,
} from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Turns an error into a value so marbles can compare it. */
const errorAsValue = <T>(source: Observable<T>) =>
  source.pipe(
    catchError((err: unknown) =>
      of(
        err instanceof JobTimeoutError
          ? `timeout:${String(err.value)}:${err.timeout}`
          : `error:${err instanceof Error ? err.message : String(err)}`,
      ),
    ),
  );

describe('workerPool({ key }): marble tests', () => {
  it('runs a key one job at a time in arrival order; a waiting key does not block another', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-abc--------|');
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('---A|'),
        b: cold('---B|'),
        c: cold('-C|'),
      };
      const keys: Record<string, string> = { a: 'x', b: 'x', c: 'y' };
      const result = source.pipe(
        workerPool((j: string) => inners[j]!, { concurrency: 2, key: (j) => keys[j] }),
      );
      expectObservable(result).toBe('----(AC)B---|');
      expectSubscriptions(inners.a!.subscriptions).toBe('-^---!');
      // b waits for a (same key) although a worker is free; c (other key) starts at once
      expectSubscriptions(inners.b!.subscriptions).toBe('-----^---!');
      expectSubscriptions(inners.c!.subscriptions).toBe('---^-!');
      expectSubscriptions(source.subscriptions).toBe('^-----------!');
    });
  });

  it('perKey: n lets n jobs of a key run at once, the rest in order, within concurrency', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('--A|'),
        b: cold('----B|'),
        c: cold('--C|'),
        d: cold('---D|'),
      };
      const source = cold('(abcd|)');
      const result = source.pipe(
        workerPool((j: string) => inners[j]!, {
          concurrency: 3,
          key: (j) => (j === 'd' ? 'other' : 'same'),
          perKey: 2,
        }),
      );
      expectObservable(result).toBe('--ADBC|');
      expectSubscriptions(inners.a!.subscriptions).toBe('^--!');
      expectSubscriptions(inners.b!.subscriptions).toBe('^----!');
      expectSubscriptions(inners.c!.subscriptions).toBe('---^--!');
      expectSubscriptions(inners.d!.subscriptions).toBe('^---!');
    });
  });

  it('waits for jobs still behind their key after the source completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('(abc|)').pipe(
        workerPool((j: string) => cold('-j|', { j }), { key: () => 1, concurrency: 3 }),
      );
      expectObservable(result).toBe('-a-b-c|');
    });
  });

  it('ordered: true keeps the order of each key', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const durations: Record<string, string> = { a: '----a|', b: '-b|', c: '-c|' };
      const result = cold('(abc|)').pipe(
        workerPool((j: string) => cold(durations[j]!), {
          concurrency: 3,
          perKey: 2,
          key: () => 'k',
          ordered: true,
        }),
      );
      // b finishes first but waits for a, the earlier job of its key; a finished job keeps its
      // worker and its place in its key until emitted, so c starts once b is out
      expectObservable(result).toBe('----abc|');
    });
  });

  it('a key function that throws fails the output and cuts the running jobs off', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('-----x|');
      const result = hot('-ab').pipe(
        workerPool(() => inner, {
          concurrency: 2,
          key: (j: string) => {
            if (j === 'b') throw new Error('no key');
            return j;
          },
        }),
        errorAsValue,
      );
      expectObservable(result).toBe('--(e|)', { e: 'error:no key' });
      expectSubscriptions(inner.subscriptions).toBe('-^!');
    });
  });

  it('unsubscribing drops the waiting jobs and unsubscribes the running ones', () => {
    const started: string[] = [];
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('-----x|');
      const source = hot('-abc');
      const result = source.pipe(
        workerPool(
          (j: string) => {
            started.push(j);
            return inner;
          },
          { concurrency: 3, key: () => 'k' },
        ),
      );
      expectObservable(result, '^---!').toBe('-');
      expectSubscriptions(inner.subscriptions).toBe('-^--!');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
    expect(started).toEqual(['a']);
  });

  it('a synchronous source and synchronous jobs: each key in order, reentrant emissions', () => {
    const seen: string[] = [];
    const source = new Subject<number>();
    const out: number[] = [];
    source
      .pipe(
        workerPool(
          (n: number) => {
            seen.push(`start ${n}`);
            if (n < 3) source.next(n + 10); // pushed from inside a running job
            return of(n);
          },
          { concurrency: 2, key: (n) => n % 2 },
        ),
      )
      .subscribe((n) => out.push(n));
    source.next(1);
    source.next(2);
    source.complete();
    expect(out).toEqual([1, 11, 2, 12]);
    expect(seen).toEqual(['start 1', 'start 11', 'start 2', 'start 12']);
  });

  it('waiting jobs count against capacity: past it, the overflow policy applies', () => {
    const dropped: string[] = [];
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const result = hot('-abcd').pipe(
        workerPool((j: string) => cold('----x|', { x: j }), {
          concurrency: 2,
          key: () => 'k',
          capacity: 1,
          overflow: 'drop',
          onOverflow: (j) => dropped.push(j),
        }),
      );
      // a runs; b waits behind its key (the pool asks for no more); c fills the push queue
      expectObservable(result, '^-------------------!').toBe('-----a----b----c');
    });
    expect(dropped).toEqual(['d']);
  });

  it('refuses bad key options, naming them', () => {
    const ok = () => of(1);
    expect(() => workerPool(ok, { key: 'id' as never })).toThrow(
      new TypeError('workerPool: key must be a function, got "id"'),
    );
    expect(() => workerPool(ok, { perKey: 2 })).toThrow(
      /workerPool: perKey needs a key function \(key\) to group jobs by, got perKey 2 and no key/,
    );
    expect(() => workerPool(ok, { key: () => 1, perKey: 0 })).toThrow(
      new RangeError('workerPool: perKey must be a whole number >= 1 or Infinity, got 0'),
    );
  });
});

describe('workerPool({ timeout }): marble tests', () => {
  it('a job past its timeout is unsubscribed, its signal aborted, and fails the output', () => {
    const reasons: unknown[] = [];
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const slow = cold('------x|');
      const other = cold('--------y|');
      const source = hot('-ab');
      const result = source.pipe(
        workerPool(
          (j: string, { signal }) => {
            signal.addEventListener('abort', () => reasons.push(signal.reason));
            return j === 'a' ? slow : other;
          },
          { concurrency: 2, timeout: 3, scheduler },
        ),
        errorAsValue,
      );
      expectObservable(result).toBe('----(e|)', { e: 'timeout:a:3' });
      expectSubscriptions(slow.subscriptions).toBe('-^--!');
      expectSubscriptions(other.subscriptions).toBe('--^-!');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toBeInstanceOf(JobTimeoutError);
    expect((reasons[0] as Error).message).toBe('workerPool: job did not finish within 3ms');
  });

  it('with onJobError the timeout is reported and the worker goes to the next job', () => {
    const failures: JobFailure<string>[] = [];
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('------x|');
      const fast = cold('-y|');
      const result = cold('(ab|)').pipe(
        workerPool((j: string) => (j === 'a' ? slow : fast), {
          timeout: 3,
          scheduler,
          onJobError: (f) => failures.push(f),
        }),
      );
      expectObservable(result).toBe('----y|');
      expectSubscriptions(slow.subscriptions).toBe('^--!');
      expectSubscriptions(fast.subscriptions).toBe('---^-!');
    });
    expect(failures.map((f) => [f.job, f.workerId, (f.error as JobTimeoutError).timeout])).toEqual([
      ['a', 0, 3],
    ]);
  });

  it('a job that finishes in time is not affected, and its timer is cancelled', () => {
    const scheduler = testScheduler();
    let live = 0;
    const tracked: SchedulerLike = {
      now: () => scheduler.now(),
      schedule: (work, delay, state) => {
        live++;
        const sub = scheduler.schedule(
          function (this: SchedulerAction<unknown>, s?: unknown) {
            live--;
            (work as (this: SchedulerAction<unknown>, s?: unknown) => void).call(this, s);
          },
          delay,
          state,
        );
        sub.add(() => live--);
        return sub;
      },
    };
    const liveAtEnd: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('a-b|').pipe(
        workerPool((j: string) => cold('--j|', { j }), { timeout: 4, scheduler: tracked }),
        finalize(() => liveAtEnd.push(live)),
      );
      expectObservable(result).toBe('--a--b|');
    });
    // b's timer would fire at 7, after the output completed at 6: it was cancelled instead
    expect(liveAtEnd).toEqual([0]);
  });

  it('times out a Promise job too (its later result is ignored)', async () => {
    const scheduler = testScheduler();
    let resolveLate!: (v: string) => void;
    const results: string[] = [];
    const failures: unknown[] = [];
    let completed = false;
    of('late', 'quick')
      .pipe(
        workerPool(
          (j: string) =>
            j === 'late'
              ? new Promise<string>((resolve) => {
                  resolveLate = resolve;
                })
              : Promise.resolve(j),
          { timeout: 5, scheduler, concurrency: 2, onJobError: (f) => failures.push(f.error) },
        ),
      )
      .subscribe({ next: (v) => results.push(v), complete: () => (completed = true) });
    await Promise.resolve(); // 'quick' resolves in time
    expect(results).toEqual(['quick']);
    scheduler.flush(); // the clock passes 'late''s timeout
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(JobTimeoutError);
    resolveLate('too late');
    await Promise.resolve();
    await Promise.resolve();
    expect(results).toEqual(['quick']);
    expect(completed).toBe(true);
  });

  it('refuses a bad timeout or scheduler, naming it', () => {
    const ok = () => of(1);
    expect(() => workerPool(ok, { timeout: -1 })).toThrow(
      new RangeError(
        'workerPool: timeout must be a number of milliseconds >= 0 or Infinity, got -1',
      ),
    );
    expect(() => workerPool(ok, { timeout: 0 })).toThrow(
      new RangeError('workerPool: timeout must be a number of milliseconds > 0, got 0'),
    );
    expect(() => workerPool(ok, { timeout: 5, scheduler: {} as never })).toThrow(
      /workerPool: scheduler must be an RxJS SchedulerLike/,
    );
  });
});

describe('workerPool: pause (concurrency 0)', () => {
  it('0 lets running jobs finish and starts none; a positive value resumes', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const limit = cold('a-b-----c', { a: 1, b: 0, c: 2 });
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('---A|'),
        b: cold('--B|'),
        c: cold('---C|'),
      };
      const source = hot('-a-bc------|');
      const result = source.pipe(workerPool((j: string) => inners[j]!, { concurrency: limit }));
      expectObservable(result).toBe('----A-----BC|');
      expectSubscriptions(inners.a!.subscriptions).toBe('-^---!');
      // b and c arrive while paused: they wait until the limit becomes 2
      expectSubscriptions(inners.b!.subscriptions).toBe('--------^--!');
      expectSubscriptions(inners.c!.subscriptions).toBe('--------^---!');
    });
  });

  it('a job a channel hands over while paused waits, it does not start', async () => {
    const [tx, rx] = mpsc<number>(4);
    const limit = new Subject<number>();
    const started: number[] = [];
    const out: number[] = [];
    rx.pipe(
      workerPool(
        (n: number) => {
          started.push(n);
          return of(n);
        },
        { concurrency: limit },
      ),
    ).subscribe((n) => out.push(n));
    limit.next(1); // the pool asks the channel for a job, which is empty
    limit.next(0);
    await tx.send(1);
    await tx.send(2);
    expect(started).toEqual([]);
    limit.next(1);
    expect(started).toEqual([1, 2]);
    expect(out).toEqual([1, 2]);
  });

  it('starting at 0 starts nothing until resumed, from a pull source', () => {
    const limit = new Subject<number>();
    const started: number[] = [];
    fromIterable([1, 2, 3])
      .pipe(
        workerPool(
          (n: number) => {
            started.push(n);
            return of(n);
          },
          { concurrency: limit },
        ),
      )
      .subscribe();
    limit.next(0);
    expect(started).toEqual([]);
    limit.next(Infinity);
    expect(started).toEqual([1, 2, 3]);
  });
});

describe('workerPool: flow properties', () => {
  it('per key: arrival order, at most perKey at once; at most concurrency in all', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ key: fc.integer({ min: 0, max: 3 }), d: fc.integer({ min: 1, max: 6 }) }),
          {
            maxLength: 30,
          },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (jobs, concurrency, perKey, ordered) => {
          const scheduler = new TestScheduler(() => {});
          const running = new Map<number, number>();
          let total = 0;
          let maxTotal = 0;
          let overPerKey = false;
          const startOrder = new Map<number, number[]>();
          const results: number[] = [];
          scheduler.run(() => {
            fromIterable(jobs.map((j, i) => ({ ...j, i })))
              .pipe(
                workerPool(
                  (j) =>
                    defer(() => {
                      const now = (running.get(j.key) ?? 0) + 1;
                      running.set(j.key, now);
                      if (now > perKey) overPerKey = true;
                      maxTotal = Math.max(maxTotal, ++total);
                      const order = startOrder.get(j.key) ?? [];
                      order.push(j.i);
                      startOrder.set(j.key, order);
                      return timer(j.d).pipe(
                        map(() => j.i),
                        finalize(() => {
                          running.set(j.key, running.get(j.key)! - 1);
                          total--;
                        }),
                      );
                    }),
                  { concurrency, key: (j) => j.key, perKey, ordered },
                ),
              )
              .subscribe((i) => results.push(i));
          });
          expect(overPerKey).toBe(false);
          expect(maxTotal).toBeLessThanOrEqual(concurrency);
          expect([...results].sort((a, b) => a - b)).toEqual(jobs.map((_, i) => i));
          if (perKey === 1) {
            for (const order of startOrder.values()) {
              expect(order).toEqual([...order].sort((a, b) => a - b));
            }
          }
          if (ordered) {
            for (const key of startOrder.keys()) {
              const mine = results.filter((i) => jobs[i]!.key === key);
              expect(mine).toEqual([...mine].sort((a, b) => a - b));
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('pause: no job starts while the limit is 0, whenever jobs arrive', () => {
    const job = fc.record({
      at: fc.integer({ min: 0, max: 40 }),
      d: fc.integer({ min: 1, max: 5 }),
    });
    const change = fc.record({
      at: fc.integer({ min: 0, max: 40 }),
      limit: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(job, { minLength: 1, maxLength: 20 }),
        fc.array(change, { maxLength: 8 }),
        fc.boolean(),
        (jobs, changes, keyed) => {
          const scheduler = new TestScheduler(() => {});
          let current = 0;
          let badStart = false;
          let done = 0;
          let finished = 0;
          scheduler.run(() => {
            const limit = new Subject<number>();
            const setLimit = (n: number) => {
              current = n;
              limit.next(n);
            };
            // a channel: the pool asks it for jobs ahead, and they arrive whenever sent
            const [tx, rx] = mpsc<{ d: number; i: number }>(Number.POSITIVE_INFINITY);
            rx.pipe(
              workerPool(
                (j) => {
                  if (current === 0) badStart = true;
                  return timer(j.d).pipe(finalize(() => finished++));
                },
                { concurrency: limit, key: keyed ? (j) => j.i % 2 : undefined },
              ),
            ).subscribe({ complete: () => done++ });
            setLimit(1);
            for (const c of [...changes].sort((a, b) => a.at - b.at)) {
              scheduler.schedule(() => setLimit(c.limit), c.at);
            }
            jobs.forEach((j, i) => {
              scheduler.schedule(() => tx.trySend({ d: j.d, i }), j.at);
            });
            // the last word is a resume, so that every job finishes
            scheduler.schedule(() => {
              setLimit(1);
              tx.close();
            }, 41);
          });
          expect(badStart).toBe(false);
          expect(finished).toBe(jobs.length);
          expect(done).toBe(1);
        },
      ),
      { numRuns: 150 },
    );
  });
});
