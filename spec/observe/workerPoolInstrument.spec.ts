import fc from 'fast-check';
import { config, type Observable, of, Subject, timer } from 'rxjs';
import { map } from 'rxjs/operators';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fromIterable,
  type Instrumentation,
  type JobEnd,
  type JobStart,
  mpsc,
  poolMetrics,
  workerPool,
} from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Records every hook call with the virtual time it happened at. */
function recorder<T>(now: () => number) {
  const log: string[] = [];
  const instrument: Instrumentation<T> = {
    onQueued: (job) => log.push(`${now()} queued ${String(job)}`),
    onStart: (e: JobStart<T>) =>
      log.push(`${now()} start ${String(e.job)} w${e.workerId} waited ${e.waitedMs}`),
    onEnd: (e: JobEnd<T>) =>
      log.push(`${now()} ${e.outcome} ${String(e.job)} waited ${e.waitedMs} ran ${e.ranMs}`),
  };
  return { log, instrument };
}

describe('workerPool instrument: marble tests', () => {
  it('a push source: jobs wait in the queue, then run; times in virtual time', () => {
    const ts = testScheduler();
    ts.run(({ hot, cold, expectObservable }) => {
      const { log, instrument } = recorder<string>(() => ts.now());
      const source = hot('-a-b-|');
      const result = source.pipe(workerPool(() => cold('---x|'), { instrument }));
      expectObservable(result).toBe('----x---x|');
      ts.flush();
      expect(log).toEqual([
        '1 queued a',
        '1 start a w0 waited 0',
        '3 queued b',
        '5 done a waited 0 ran 4',
        '5 start b w0 waited 2',
        '9 done b waited 2 ran 4',
      ]);
    });
  });

  it('a pull source (a channel): jobs start as taken, waiting 0', () => {
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const { log, instrument } = recorder<number>(() => ts.now());
      const result = fromIterable([1, 2]).pipe(
        workerPool(() => cold('--x|'), { concurrency: 1, instrument }),
      );
      expectObservable(result).toBe('--x--x|');
      ts.flush();
      expect(log).toEqual([
        '0 queued 1',
        '0 start 1 w0 waited 0',
        '3 done 1 waited 0 ran 3',
        '3 queued 2',
        '3 start 2 w0 waited 0',
        '6 done 2 waited 0 ran 3',
      ]);
    });
  });

  it('a failure reported by onJobError ends failed, and the pool goes on', () => {
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const { log, instrument } = recorder<string>(() => ts.now());
      const inners: Record<string, Observable<string>> = { a: cold('--#'), b: cold('-x|') };
      const result = cold('ab|').pipe(
        workerPool((job: string) => inners[job]!, {
          concurrency: 2,
          instrument,
          onJobError: () => {},
        }),
      );
      expectObservable(result).toBe('--x|');
      ts.flush();
      expect(log.slice(-2)).toEqual(['2 failed a waited 0 ran 2', '3 done b waited 0 ran 2']);
    });
  });

  it('an unreported failure: that job failed, the others cancelled, the waiting dropped', () => {
    const ts = testScheduler();
    ts.run(({ hot, cold, expectObservable }) => {
      const { log, instrument } = recorder<string>(() => ts.now());
      const inners: Record<string, Observable<string>> = {
        a: cold('---#'),
        b: cold('------x|'),
        c: cold('x|'),
      };
      const result = hot('ab-c').pipe(
        workerPool((job: string) => inners[job]!, { concurrency: 2, instrument }),
      );
      expectObservable(result).toBe('---#');
      ts.flush();
      expect(log.slice(-3)).toEqual([
        '3 failed a waited 0 ran 3',
        '3 cancelled b waited 0 ran 2',
        '3 dropped c waited 0 ran 0',
      ]);
    });
  });

  it('unsubscribing: running jobs end cancelled, waiting ones dropped', () => {
    const ts = testScheduler();
    ts.run(({ hot, cold, expectObservable }) => {
      const metrics = poolMetrics();
      const result = hot('abc').pipe(workerPool(() => cold('-----x|'), { instrument: metrics }));
      expectObservable(result, '---!').toBe('---');
      ts.flush();
      const s = metrics.snapshot();
      expect([s.running, s.waiting, s.cancelled, s.dropped, s.done]).toEqual([0, 0, 1, 2, 0]);
      expect(s.ran.last).toBe(3);
    });
  });

  it("overflow 'drop' and 'replace' report the discarded job as dropped", () => {
    for (const overflow of ['drop', 'replace'] as const) {
      const ts = testScheduler();
      ts.run(({ hot, cold, expectObservable }) => {
        const { log, instrument } = recorder<string>(() => ts.now());
        const seen: string[] = [];
        const result = hot('abc|').pipe(
          workerPool(() => cold('-----x|'), {
            capacity: 1,
            overflow,
            onOverflow: (job) => seen.push(job),
            instrument,
          }),
        );
        expectObservable(result).toBe('-----x-----x|');
        ts.flush();
        const gone = overflow === 'drop' ? 'c' : 'b';
        expect(seen).toEqual([gone]);
        expect(log).toContain(`2 dropped ${gone} waited ${overflow === 'drop' ? 0 : 1} ran 0`);
        expect(log.filter((l) => l.includes(' done '))).toHaveLength(2);
      });
    }
  });

  it('a synchronous source completes with every job counted', () => {
    const metrics = poolMetrics();
    let results: number[] = [];
    of(1, 2, 3)
      .pipe(workerPool((n: number) => of(n * 2), { concurrency: 2, instrument: metrics }))
      .subscribe({ next: (v) => results.push(v) });
    expect(results).toEqual([2, 4, 6]);
    const s = metrics.snapshot();
    expect([s.done, s.running, s.waiting, s.waited.count, s.ran.count]).toEqual([3, 0, 0, 3, 3]);
    results = [];
  });

  it('a job started from inside another job (reentrancy) is counted once', () => {
    const metrics = poolMetrics();
    const jobs = new Subject<number>();
    const out: number[] = [];
    jobs
      .pipe(
        workerPool(
          (n: number) => {
            if (n < 3) jobs.next(n + 1);
            return of(n);
          },
          { concurrency: 1, instrument: metrics },
        ),
      )
      .subscribe((v) => out.push(v));
    jobs.next(1);
    jobs.complete();
    const s = metrics.snapshot();
    expect(out).toEqual([1, 2, 3]);
    expect([s.done, s.running, s.waiting]).toEqual([3, 0, 0]);
  });
});

describe('workerPool instrument: the counters add up (property)', () => {
  it('every job ends once, as done or failed, whatever the timings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(5), takes: fc.nat(5), fails: fc.boolean() }), {
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 4 }),
        (jobs, concurrency) => {
          const ts = testScheduler();
          const metrics = poolMetrics();
          const peaks = { running: 0 };
          const instrument: Instrumentation<unknown> = {
            onQueued: metrics.onQueued,
            onStart: (e) => {
              metrics.onStart?.(e);
              peaks.running = Math.max(peaks.running, metrics.snapshot().running);
            },
            onEnd: metrics.onEnd,
          };
          ts.run(() => {
            const source = fromIterable(jobs).pipe(
              workerPool(
                (job: { takes: number; fails: boolean }) =>
                  timer(job.takes).pipe(
                    map(() => {
                      if (job.fails) throw new Error('no');
                      return job;
                    }),
                  ),
                { concurrency, instrument, onJobError: () => {} },
              ),
            );
            source.subscribe();
          });
          const s = metrics.snapshot();
          expect(s.running).toBe(0);
          expect(s.waiting).toBe(0);
          expect(s.done).toBe(jobs.filter((j) => !j.fails).length);
          expect(s.failed).toBe(jobs.filter((j) => j.fails).length);
          expect(s.ran.total).toBe(jobs.reduce((sum, j) => sum + j.takes, 0));
          expect(peaks.running).toBeLessThanOrEqual(concurrency);
        },
      ),
    );
  });
});

describe('workerPool instrument: bad input and failing hooks', () => {
  afterEach(() => {
    config.onUnhandledError = null;
  });

  it('refuses an instrument that is not one, naming it', () => {
    const work = (n: number) => of(n);
    expect(() => workerPool(work, { instrument: 5 as never })).toThrow(
      'workerPool: instrument must be an Instrumentation (an object with onQueued, onStart or onEnd), got 5',
    );
    expect(() => workerPool(work, { instrument: { onEnd: 'x' as never } })).toThrow(
      'workerPool: instrument.onEnd must be a function, got "x"',
    );
    expect(() => workerPool(work, { instrument: { scheduler: {} as never } })).toThrow(
      /instrument\.scheduler must be an RxJS SchedulerLike/,
    );
  });

  it('a hook that throws is reported and the jobs go on', async () => {
    const reported: unknown[] = [];
    config.onUnhandledError = (err) => reported.push(err);
    const out: number[] = [];
    of(1, 2)
      .pipe(
        workerPool((n: number) => of(n), {
          instrument: {
            onStart: () => {
              throw new Error('hook');
            },
          },
        }),
      )
      .subscribe((v) => out.push(v));
    await Promise.resolve();
    expect(out).toEqual([1, 2]);
    expect(reported).toHaveLength(2);
  });

  it('poolMetrics counts in the scheduler given', () => {
    const ts = testScheduler();
    const metrics = poolMetrics({ scheduler: ts });
    const sub = new Subject<number>();
    sub.pipe(workerPool(() => timer(10, ts), { instrument: metrics })).subscribe();
    sub.next(1);
    ts.flush();
    expect(metrics.snapshot().ran).toEqual({ count: 1, total: 10, max: 10, last: 10 });
  });

  it('the channel it reads keeps its messages waiting, not the pool', async () => {
    const [tx, rx] = mpsc<number>(4);
    const metrics = poolMetrics();
    const gate: Array<() => void> = [];
    const sub = rx
      .pipe(workerPool(() => new Promise<void>((r) => gate.push(r)), { instrument: metrics }))
      .subscribe();
    tx.trySend(1);
    tx.trySend(2);
    expect([metrics.snapshot().running, metrics.snapshot().waiting]).toEqual([1, 0]);
    sub.unsubscribe();
    expect(metrics.snapshot().cancelled).toBe(1);
  });
});

describe('poolMetrics: bad input', () => {
  it('refuses bad options, naming them', () => {
    expect(() => poolMetrics({ schedular: 1 } as never)).toThrow(
      'poolMetrics: unknown option "schedular" (did you mean "scheduler"?)',
    );
    expect(() => poolMetrics({ scheduler: 5 as never })).toThrow(
      'poolMetrics: scheduler must be an RxJS SchedulerLike, got 5',
    );
  });
});

describe('workerPool instrument: keyed pools', () => {
  it('a job of a free key that starts before an older one of a busy key gets its own wait', () => {
    const ts = testScheduler();
    ts.run(({ hot, cold, expectObservable }) => {
      const { log, instrument } = recorder<string>(() => ts.now());
      const result = hot('-ab-c-|').pipe(
        workerPool(() => cold('----x|'), {
          concurrency: 2,
          key: (job: string) => (job === 'c' ? 'other' : 'same'),
          instrument,
        }),
      );
      expectObservable(result).toBe('-----x--x-x|');
      ts.flush();
      expect(log.filter((l) => l.includes('start'))).toEqual([
        '1 start a w0 waited 0',
        '4 start c w1 waited 0',
        '6 start b w0 waited 4',
      ]);
    });
  });
});
