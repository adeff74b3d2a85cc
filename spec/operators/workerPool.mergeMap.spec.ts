/**
 * workerPool keeps mergeMap's promises: the same values, order, subscriptions and teardown
 * order as `mergeMap(work, concurrency)` wherever the pool is not asked to differ (its queue is
 * `capacity: Infinity` here, like mergeMap's buffer).
 */
import fc from 'fast-check';
import {
  BehaviorSubject,
  catchError,
  concat,
  defer,
  finalize,
  map,
  mergeMap,
  type Observable,
  type ObservableInput,
  of,
  Subject,
  tap,
  timer,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  atLeastOnce,
  ChannelFullError,
  consumeQueue,
  fromIterable,
  idempotent,
  MessageQueue,
  mpsc,
  workerPool,
} from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

type Operator = <T, R>(
  work: (job: T) => ObservableInput<R>,
  concurrency: number,
) => (source: Observable<T>) => Observable<R>;

const pool: Operator = (work, concurrency) =>
  workerPool((job) => work(job), { concurrency, capacity: Number.POSITIVE_INFINITY });
const merge: Operator = (work, concurrency) => mergeMap((job) => work(job), concurrency);

/** Runs a scenario under both operators and returns both logs. */
function both(scenario: (op: Operator) => string[]): { pool: string[]; mergeMap: string[] } {
  return { pool: scenario(pool), mergeMap: scenario(merge) };
}

/** Logs a job's life: `init n`, its values, `finalized n`; the output's values and its end. */
function lifeLog(
  op: Operator,
  concurrency: number,
  source: (log: string[]) => Observable<number>,
  job: (n: number) => Observable<number>,
): string[] {
  const log: string[] = [];
  testScheduler().run(() => {
    source(log)
      .pipe(
        op(
          (n: number) =>
            defer(() => {
              log.push(`init ${n}`);
              return job(n);
            }).pipe(finalize(() => log.push(`finalized ${n}`))),
          concurrency,
        ),
      )
      .subscribe({
        next: (v) => log.push(`out ${v}`),
        error: (e: unknown) => log.push(`error ${String(e)}`),
        complete: () => log.push('done'),
      });
  });
  return log;
}

describe('workerPool as mergeMap: teardown order', () => {
  for (const concurrency of [1, 2]) {
    it(`a worker takes the next job only after the previous one is finalized (concurrency ${concurrency})`, () => {
      const logs = both((op) =>
        lifeLog(
          op,
          concurrency,
          () => of(1, 2, 3),
          (n) => timer(n).pipe(map(() => n)),
        ),
      );
      expect(logs.pool).toEqual(logs.mergeMap);
      const log = logs.pool;
      // whatever job 1 releases in its teardown is released before job 3 (or 2) takes its worker
      const next = concurrency === 1 ? 'init 2' : 'init 3';
      expect(log.indexOf('finalized 1')).toBeLessThan(log.indexOf(next));
      expect(log.indexOf('init 3')).toBeGreaterThan(log.indexOf('finalized 1'));
    });
  }

  it('concurrency 1: init, value, finalized, then the next job', () => {
    const log = lifeLog(
      pool,
      1,
      () => of(1, 2),
      (n) => timer(1).pipe(map(() => n)),
    );
    expect(log).toEqual([
      'init 1',
      'out 1',
      'finalized 1',
      'init 2',
      'out 2',
      'finalized 2',
      'done',
    ]);
  });

  it('a synchronous job is finalized before the next one starts', () => {
    const logs = both((op) =>
      lifeLog(
        op,
        1,
        () => of(1, 2),
        (n) => of(n),
      ),
    );
    expect(logs.pool).toEqual([
      'init 1',
      'out 1',
      'finalized 1',
      'init 2',
      'out 2',
      'finalized 2',
      'done',
    ]);
    expect(logs.pool).toEqual(logs.mergeMap);
  });

  it('a job that completes inside its own subscribe is finalized before its worker takes the next (where mergeMap starts the next first)', () => {
    const feedback = (op: Operator) => {
      const log: string[] = [];
      const jobs = new Subject<number>();
      jobs
        .pipe(
          op((n: number) => {
            log.push(`init ${n}`);
            return of(n).pipe(finalize(() => log.push(`finalized ${n}`)));
          }, 1),
        )
        .subscribe((v) => {
          log.push(`out ${v}`);
          if (v === 1) jobs.next(2); // waits: the only worker is busy with 1
        });
      jobs.next(1);
      return log;
    };
    expect(feedback(pool)).toEqual([
      'init 1',
      'out 1',
      'finalized 1',
      'init 2',
      'out 2',
      'finalized 2',
    ]);
    expect(feedback(merge)).toEqual([
      'init 1',
      'out 1',
      'init 2',
      'out 2',
      'finalized 2',
      'finalized 1',
    ]);
  });

  it('the output completes after the last job is torn down', () => {
    const logs = both((op) =>
      lifeLog(
        op,
        2,
        () => of(1, 2),
        (n) => timer(n).pipe(map(() => n)),
      ),
    );
    expect(logs.pool.slice(-3)).toEqual(['out 2', 'finalized 2', 'done']);
    expect(logs.pool).toEqual(logs.mergeMap);
  });

  it('a failing job: the output fails, then every job is finalized', () => {
    const logs = both((op) =>
      lifeLog(
        op,
        2,
        () => of(1, 2),
        (n) =>
          n === 2
            ? timer(1).pipe(
                map(() => {
                  throw 'bad 2';
                }),
              )
            : timer(5).pipe(map(() => n)),
      ),
    );
    expect(logs.mergeMap).toEqual(logs.pool);
    expect(logs.pool).toEqual(['init 1', 'init 2', 'error bad 2', 'finalized 1', 'finalized 2']);
  });

  it('marbles: the next job is subscribed in the frame the previous one is unsubscribed', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-|');
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('---A|'),
        b: cold('--B|'),
        c: cold('-C|'),
      };
      const released: string[] = [];
      const result = source.pipe(
        workerPool((x: string) => inners[x]!.pipe(finalize(() => released.push(`${x} released`))), {
          concurrency: 1,
        }),
        tap({ complete: () => released.push('done') }),
      );
      expectObservable(result).toBe('----A--B-C|');
      expectSubscriptions(source.subscriptions).toBe('^------!');
      expectSubscriptions(inners.a!.subscriptions).toBe('-^---!');
      expectSubscriptions(inners.b!.subscriptions).toBe('-----^--!');
      expectSubscriptions(inners.c!.subscriptions).toBe('--------^-!');
    });
  });
});

describe('workerPool as mergeMap: jobs pushed from inside a job (a Subject feedback loop)', () => {
  /** Each value below 3 pushes the next job while the current job is still emitting. */
  function feedback(op: Operator, concurrency: number): Array<number | string> {
    const seen: Array<number | string> = [];
    const jobs = new Subject<number>();
    jobs.pipe(op((n: number) => of(n, n * 10), concurrency)).subscribe({
      next: (v) => {
        seen.push(v);
        if (v < 3) jobs.next(v + 1);
      },
      error: (e: unknown) => seen.push(`error: ${String(e)}`),
    });
    jobs.next(1);
    return seen;
  }

  it('a job pushed while a worker is free starts at once, as in mergeMap', () => {
    const logs = both((op) => feedback(op, 8).map(String));
    expect(logs.pool).toEqual(['1', '2', '3', '30', '20', '10']);
    expect(logs.pool).toEqual(logs.mergeMap);
  });

  it('with every worker busy, the pushed job waits for one, as in mergeMap', () => {
    const logs = both((op) => feedback(op, 1).map(String));
    expect(logs.pool).toEqual(['1', '10', '2', '20', '3', '30']);
    expect(logs.pool).toEqual(logs.mergeMap);
  });

  it('a job that waited for a worker starts once the emission that freed the worker has returned', () => {
    const emits: Record<string, string[]> = { a: ['a1', 'a2'], b: ['b1'], c: ['c1'] };
    const run = (op: Operator) => {
      const seen: string[] = [];
      const jobs = new Subject<string>();
      jobs.pipe(op((job: string) => of(...emits[job]!), 2)).subscribe((v) => {
        seen.push(v);
        if (v === 'a1') jobs.next('b'); // a worker is free: b starts at once
        if (v === 'b1') jobs.next('c'); // both busy: c waits; b then completes
      });
      jobs.next('a');
      return seen;
    };
    // mergeMap starts c inside a's emission, deepening the stack; the pool starts it after
    expect(run(merge)).toEqual(['a1', 'b1', 'c1', 'a2']);
    expect(run(pool)).toEqual(['a1', 'b1', 'a2', 'c1']);
  });

  it('a long synchronous chain through the queue does not deepen the stack', () => {
    let done = 0;
    const jobs = new Subject<number>();
    jobs
      .pipe(workerPool((n: number) => of(n), { concurrency: 1, capacity: 200_000 }))
      .subscribe((n) => {
        done++;
        if (n === 0) for (let i = 1; i < 100_000; i++) jobs.next(i); // all wait for the worker
      });
    jobs.next(0);
    expect(done).toBe(100_000);
  });

  it('a job pushed while a worker is free takes no queue slot (concurrency 8, capacity 1)', () => {
    const seen: Array<number | string> = [];
    const jobs = new Subject<number>();
    jobs.pipe(workerPool((n: number) => of(n), { concurrency: 8, capacity: 1 })).subscribe({
      next: (v) => {
        seen.push(v);
        if (v === 1) {
          jobs.next(2);
          jobs.next(3);
        }
      },
      error: (e: unknown) => seen.push(e instanceof ChannelFullError ? 'full' : String(e)),
    });
    jobs.next(1);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('with no worker free, the queue still holds only `capacity` pushed jobs', () => {
    const seen: Array<number | string> = [];
    const jobs = new Subject<number>();
    jobs
      .pipe(
        workerPool((n: number) => of(n), { concurrency: 1, capacity: 1 }),
        catchError((e: unknown) =>
          of(e instanceof ChannelFullError ? `full:${String(e.value)}` : String(e)),
        ),
      )
      .subscribe((v) => {
        seen.push(v);
        if (v === 1) {
          jobs.next(2); // the only worker is busy with 1: queued
          jobs.next(3); // no room
        }
      });
    jobs.next(1);
    expect(seen).toEqual([1, 2, 'full:3']);
  });
});

describe('workerPool as mergeMap: source errors', () => {
  it('a source error raised while a job emits synchronously cuts the job off', () => {
    const run = (op: Operator) => {
      const seen: string[] = [];
      const jobs = new Subject<number>();
      jobs.pipe(op((n: number) => of(n, n * 10), 8)).subscribe({
        next: (v) => {
          seen.push(String(v));
          if (v === 1) jobs.error('boom');
        },
        error: (e: unknown) => seen.push(`error: ${String(e)}`),
      });
      jobs.next(1);
      return seen;
    };
    expect(run(pool)).toEqual(['1', 'error: boom']);
    expect(run(pool)).toEqual(run(merge));
  });

  it('a source error cuts off running jobs and never starts the queued ones', () => {
    const started: string[] = [];
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-#');
      const inners: Record<string, ReturnType<typeof cold>> = {
        a: cold('-----A|'),
        b: cold('-----B|'),
      };
      const result = source.pipe(
        workerPool(
          (x: string) => {
            started.push(x);
            return inners[x]!;
          },
          { concurrency: 1 },
        ),
      );
      expectObservable(result).toBe('-----#');
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(inners.a!.subscriptions).toBe('-^---!');
      expectSubscriptions(inners.b!.subscriptions).toBe([]);
    });
    expect(started).toEqual(['a']); // b was queued, and is never handed to `work`
  });

  it("a channel's error comes after the jobs taken from it finish (mergeMap drops them)", () => {
    const run = (op: Operator) => {
      const [tx, rx] = mpsc<number>(10);
      for (const n of [1, 2, 3]) tx.trySend(n);
      tx.error('channel failed');
      const log: string[] = [];
      const scheduler = new TestScheduler(() => {});
      scheduler.run(() => {
        rx.pipe(op((n: number) => timer(2).pipe(map(() => n)), 1)).subscribe({
          next: (n) => log.push(`${n}@${scheduler.now()}`),
          error: (e: unknown) => log.push(`${String(e)}@${scheduler.now()}`),
        });
      });
      return log;
    };
    // the pool takes 1, 2 and 3 one at a time; the error comes after 3 is taken: 3 finishes
    expect(run(pool)).toEqual(['1@2', '2@4', '3@6', 'channel failed@6']);
    expect(run(merge)).toEqual(['channel failed@0']);
  });

  it('teardown order on a source error matches mergeMap', () => {
    const logs = both((op) =>
      lifeLog(
        op,
        1,
        () =>
          concat(
            of(1, 2),
            timer(1).pipe(
              map((): number => {
                throw 'source failed';
              }),
            ),
          ),
        (n) => timer(5).pipe(map(() => n)),
      ),
    );
    expect(logs.pool).toEqual(['init 1', 'error source failed', 'finalized 1']);
    expect(logs.pool).toEqual(logs.mergeMap);
  });
});

describe('workerPool as mergeMap: cases from the RxJS mergeMap spec', () => {
  const values = { i: 'foo', j: 'bar', k: 'baz', l: 'qux' };

  /** Builds the case under one operator, with its own cold inner so logs stay apart. */
  function manyToMany(
    op: Operator,
    concurrency: number,
    outer: string,
    innerMarble: string,
    unsub?: string,
  ) {
    const scheduler = testScheduler();
    let result!: { out: unknown; outerSubs: unknown; innerSubs: unknown };
    scheduler.run(({ hot, cold }) => {
      const e1 = hot(outer);
      const inner = cold(innerMarble, values);
      const out: unknown[] = [];
      const sub = e1.pipe(op(() => inner, concurrency)).subscribe({
        next: (v) => out.push([scheduler.now(), v]),
        error: (e: unknown) => out.push([scheduler.now(), 'error', e]),
        complete: () => out.push([scheduler.now(), 'complete']),
      });
      if (unsub !== undefined) scheduler.schedule(() => sub.unsubscribe(), unsub.indexOf('!'));
      scheduler.schedule(() => {
        result = { out, outerSubs: e1.subscriptions, innerSubs: inner.subscriptions };
      }, 200);
    });
    return result;
  }

  // biome-ignore format: the marbles are easier to read one case a line
  const cases: Array<[string, number, string, string, string?]> = [
    ['many outer to many inner', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------|', '----i---j---k---l---|'],
    ['complete late', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-----------------------|', '----i---j---k---l---|'],
    ['outer never completes, unsubscribed', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------e---------------f------', '----i---j---k---l---|', '                                                       !'],
    ['inner never completes', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------|', '----i---j---k---l-------------------------'],
    ['inner throws', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------|', '----i---j---k---l-------#'],
    ['outer throws', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------#', '----i---j---k---l---|'],
    ['inner and outer throw', Number.POSITIVE_INFINITY, '-a-------b-------c-------d-------#', '----i---j---k---l---#'],
    ['concurrency 1', 1, '-a-------b-------c---|', '----i---j---k---l---|'],
    ['concurrency 2', 2, '-a-------b-------c---|', '----i---j---k---l---|'],
    ['concurrency 1, outer throws with jobs waiting', 1, '-a-------b-------c---#', '----i---j---k---l---|'],
    ['concurrency 2, inner throws with jobs waiting', 2, '-a-b-c-d-|', '----i---#'],
  ];
  for (const [name, concurrency, outer, inner, unsub] of cases) {
    it(name, () => {
      expect(manyToMany(pool, concurrency, outer, inner, unsub)).toEqual(
        manyToMany(merge, concurrency, outer, inner, unsub),
      );
    });
  }

  it('concurrency 2, in marbles', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const e1 = hot('    -a-------b-------c---|                    ');
      const inner = cold('----i---j---k---l---|                    ', values);
      const expected = '  -----i---j---(ki)(lj)k---(li)j---k---l---|';
      const result = e1.pipe(workerPool(() => inner, { concurrency: 2 }));
      expectObservable(result).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe('^--------------------!                    ');
      expectSubscriptions(inner.subscriptions).toBe([
        '-^-------------------!                    ',
        '---------^-------------------!            ',
        '---------------------^-------------------!',
      ]);
    });
  });

  it('a synchronous firehose is stopped by take(n) without running more jobs', () => {
    const started: number[] = [];
    const run = (op: Operator) => {
      started.length = 0;
      const seen: number[] = [];
      fromIterable(Array.from({ length: 1000 }, (_, i) => i))
        .pipe(
          op((n: number) => {
            started.push(n);
            return of(n);
          }, 3),
          tap((n) => seen.push(n)),
        )
        .subscribe()
        .unsubscribe();
      return seen;
    };
    expect(run(pool)).toEqual(run(merge));
  });
});

describe('workerPool as mergeMap: random scenarios', () => {
  it('gives the same values, errors, subscriptions and teardown order as mergeMap', () => {
    const job = fc.record({
      gap: fc.nat(3),
      duration: fc.nat(4),
      emits: fc.nat(2),
      fails: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(job, { maxLength: 8 }),
        fc.constantFrom('|', '#', ''),
        fc.nat(3),
        fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
        (jobs, end, endGap, concurrency) => {
          const run = (op: Operator) => {
            const log: unknown[] = [];
            const scheduler = new TestScheduler(() => {});
            scheduler.run(({ hot, cold }) => {
              let marble = '';
              const keys: Record<string, number> = {};
              jobs.forEach((j, i) => {
                const key = String.fromCharCode(0x100 + i);
                keys[key] = i;
                marble += '-'.repeat(j.gap) + key;
              });
              marble += '-'.repeat(endGap) + end;
              const inners = jobs.map((j, i) => {
                let m = '-'.repeat(j.duration);
                for (let e = 0; e < j.emits; e++) m += 'v-';
                return cold(`${m}${j.fails ? '#' : '|'}`, { v: i }, `fail ${i}`);
              });
              hot(marble, keys, 'source failed')
                .pipe(
                  op(
                    (i: number) =>
                      inners[i]!.pipe(finalize(() => log.push([scheduler.now(), 'fin', i]))),
                    concurrency,
                  ),
                )
                .subscribe({
                  next: (v) => log.push([scheduler.now(), 'out', v]),
                  error: (e: unknown) => log.push([scheduler.now(), 'error', e]),
                  complete: () => log.push([scheduler.now(), 'done']),
                });
              scheduler.schedule(() => {
                log.push(inners.map((inner) => inner.subscriptions));
              }, 100);
            });
            return log;
          };
          expect(run(pool)).toEqual(run(merge));
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** The most jobs one random feedback loop may make. */
const LOOP_JOBS = 64;

describe('workerPool as mergeMap: random feedback loops', () => {
  it('jobs pushed from inside emissions: the same jobs and values as mergeMap, never more than `concurrency` at once', () => {
    // job i emits `emits[i]` values synchronously; value k of job i pushes the jobs listed in
    // pushes[i][k] (later jobs only, so the loop ends)
    const scenario = fc.integer({ min: 2, max: 8 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        emits: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
        pushes: fc.array(
          fc.array(fc.array(fc.integer({ min: 1, max: n - 1 }), { maxLength: 2 }), {
            maxLength: 3,
          }),
          { minLength: n, maxLength: n },
        ),
        concurrency: fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ n, emits, pushes, concurrency }) => {
        // How many jobs the scenario makes. A cap on pushes would cut different pushes under
        // the two operators (it depends on the order jobs run in), so scenarios that would
        // reach it are left out rather than compared.
        const made = new Map<number, number>();
        const jobsFrom = (i: number): number => {
          const known = made.get(i);
          if (known !== undefined) return known;
          let count = 1;
          for (let k = 0; k < emits[i]!; k++) {
            for (const target of pushes[i]?.[k] ?? []) if (target > i) count += jobsFrom(target);
          }
          made.set(i, count);
          return count;
        };
        fc.pre(jobsFrom(0) <= LOOP_JOBS);
        const run = (op: Operator) => {
          const log: string[] = [];
          const jobs = new Subject<number>();
          let pushed = 1;
          jobs
            .pipe(
              op((i: number) => {
                log.push(`init ${i}`);
                const values = Array.from({ length: emits[i]! }, (_, k) => i * 10 + k);
                return of(...values).pipe(finalize(() => log.push(`finalized ${i}`)));
              }, concurrency),
            )
            .subscribe({
              next: (v) => {
                log.push(`out ${v}`);
                const i = Math.floor(v / 10);
                for (const target of pushes[i]?.[v % 10] ?? []) {
                  if (target > i && pushed < LOOP_JOBS) {
                    pushed++;
                    jobs.next(target);
                  }
                }
              },
              complete: () => log.push('done'),
            });
          jobs.next(0);
          jobs.complete();
          return log;
        };
        const pooled = run(pool);
        const merged = run(merge);
        // with no job ever waiting, exactly mergeMap's order
        if (concurrency === Number.POSITIVE_INFINITY) expect(pooled).toEqual(merged);
        // otherwise the same jobs and values, each job's values in order, and the end last (a
        // job that waited starts once the emission that freed its worker has returned)
        const sorted = (log: string[]) => [...log].sort();
        expect(sorted(pooled)).toEqual(sorted(merged));
        const outs = (log: string[], i: number) =>
          log.filter((l) => l.startsWith('out') && Math.floor(Number(l.slice(4)) / 10) === i);
        for (let i = 0; i < n; i++) expect(outs(pooled, i)).toEqual(outs(merged, i));
        expect(pooled.at(-1)).toBe('done');
        // a worker is never handed a job while the job it ran before is not finalized
        let running = 0;
        let maxRunning = 0;
        for (const line of pooled) {
          if (line.startsWith('init')) maxRunning = Math.max(maxRunning, ++running);
          if (line.startsWith('finalized')) running--;
        }
        expect(maxRunning).toBeLessThanOrEqual(concurrency);
      }),
      { numRuns: 500 },
    );
  });
});

describe('workerPool: large and unlimited concurrency', () => {
  for (const concurrency of [Number.POSITIVE_INFINITY, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    it(`concurrency ${concurrency} runs every job at once, at a cost independent of the limit`, () => {
      const ids: number[] = [];
      const results: number[] = [];
      const sub = fromIterable(Array.from({ length: 3_000 }, (_, i) => i))
        .pipe(
          workerPool(
            (n: number, { workerId }) => {
              ids.push(workerId);
              return n % 2 === 0 ? of(n) : new Subject<number>(); // odd jobs never finish
            },
            { concurrency },
          ),
        )
        .subscribe((n) => results.push(n));
      expect(ids).toHaveLength(3_000); // every job started (the source is asked in chunks)
      expect(Math.max(...ids)).toBeLessThan(3_000); // worker ids are reused, not spread out
      expect(results).toHaveLength(1_500);
      sub.unsubscribe();
    });

    it(`concurrency ${concurrency} from an Observable, and from a push source`, () => {
      const seen: number[] = [];
      of(1, 2, 3)
        .pipe(
          workerPool((n: number) => of(n * 2), { concurrency: new BehaviorSubject(concurrency) }),
        )
        .subscribe((n) => seen.push(n));
      expect(seen).toEqual([2, 4, 6]);
    });
  }

  it('one rule for concurrency in workerPool, consumeQueue, atLeastOnce and idempotent', () => {
    const queue = new MessageQueue<number>();
    const makers: Array<[string, (concurrency: number) => unknown]> = [
      ['workerPool', (concurrency) => workerPool(() => of(1), { concurrency })],
      ['consumeQueue', (concurrency) => consumeQueue(queue, () => undefined, { concurrency })],
      ['atLeastOnce', (concurrency) => atLeastOnce(() => of(1), { concurrency })],
      ['idempotent', (concurrency) => idempotent(() => of(1), { concurrency })],
    ];
    for (const [where, make] of makers) {
      for (const good of [1, 7, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
        expect(() => make(good)).not.toThrow();
      }
      for (const bad of [0, -1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
        expect(() => make(bad)).toThrow(
          `${where}: concurrency must be a whole number >= 1 or Infinity, got ${bad}`,
        );
      }
      expect(() => make('2' as never)).toThrow(TypeError);
    }
  });
});

describe('workerPool: lowering concurrency from a channel', () => {
  it('jobs the pool asked for before the limit dropped run; the rest stay in the channel', () => {
    const [tx, rx] = mpsc<number>(10);
    const limit = new BehaviorSubject(3);
    const started: number[] = [];
    const finish: Array<Subject<number>> = [];
    const sub = rx
      .pipe(
        workerPool(
          (n: number) => {
            started.push(n);
            const done = new Subject<number>();
            finish[n] = done;
            return done;
          },
          { concurrency: limit },
        ),
      )
      .subscribe();
    // the pool has asked the empty channel for three jobs; then the limit drops to 1
    limit.next(1);
    for (let i = 0; i < 6; i++) tx.trySend(i);
    expect(started).toEqual([0, 1, 2]); // taken, so started: never held inside the pool
    expect(rx.size).toBe(3); // not taken
    finish[0]!.complete();
    finish[1]!.complete();
    expect(started).toEqual([0, 1, 2]); // 2 still runs: no new job above the limit of 1
    finish[2]!.complete();
    expect(started).toEqual([0, 1, 2, 3]);
    sub.unsubscribe();
    expect(rx.size).toBe(2); // nothing taken is lost on unsubscribe: 3 was running
  });
});
