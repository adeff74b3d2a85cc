/**
 * Flow control invariants over random arrivals, in virtual time:
 * - rateLimit: in every window of every limit, the cost released never exceeds the limit in
 *   force at the release (also while the limit changes, with weighted messages and bursts);
 *   nothing is lost, duplicated or reordered; with one fixed window each message leaves as
 *   early as the window allows.
 * - batch: batches are never empty, never above `size`, never later than `time` after their
 *   first message; a partial batch leaves exactly then (or at the end); nothing is lost,
 *   duplicated or reordered; in front of a worker pool, a pull source is never more than one
 *   batch ahead of the pool.
 */
import fc from 'fast-check';
import { asyncScheduler, map, merge, NEVER, type Observable, takeUntil, tap, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batch, fromIterable, type RateWindow, rateLimit, workerPool } from '../../src/index.js';

interface Arrival {
  readonly id: number;
  readonly at: number;
  readonly cost: number;
}

/** A push source of `arrivals` (sorted by time), completing at `end`. */
function arriving(arrivals: readonly Arrival[], end: number): Observable<Arrival> {
  return merge(...arrivals.map((a) => timer(a.at).pipe(map(() => a))), NEVER).pipe(
    takeUntil(timer(end)),
  );
}

function virtual<R>(body: () => R, flushAll: (flush: () => void) => void): R {
  let result!: R;
  new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ flush }) => {
    result = body();
    flushAll(flush);
  });
  return result;
}

const arrivalTimes = (max: number) =>
  fc
    .array(fc.integer({ min: 0, max: 40 }), { maxLength: max })
    .map((ts) => ts.sort((a, b) => a - b));

describe('rateLimit: properties', () => {
  const windowArb = fc
    .record({
      limit: fc.integer({ min: 1, max: 5 }),
      interval: fc.integer({ min: 1, max: 20 }),
      burst: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    })
    .map((w) => ({ ...w, burst: w.burst === undefined ? undefined : Math.min(w.burst, w.limit) }));

  it('never exceeds any window, loses, duplicates or reorders nothing', () => {
    fc.assert(
      fc.property(
        fc.array(windowArb, { minLength: 1, maxLength: 2 }),
        arrivalTimes(30),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 30, maxLength: 30 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 60 }), value: fc.integer({ min: 0, max: 6 }) }),
          { maxLength: 4 },
        ),
        fc.boolean(),
        (windows, times, rawCosts, changes, weighted) => {
          const minLimit = Math.min(...windows.map((w) => w.limit));
          const arrivals = times.map((at, id) => ({
            id,
            at,
            cost: weighted ? Math.min(rawCosts[id]!, minLimit) : 1,
          }));
          // the first window's limit changes over time when `changes` is not empty; every
          // value at least the largest cost (or 0: a pause), and the last one positive
          const changing = changes.length > 0;
          const maxCost = Math.max(1, ...arrivals.map((a) => a.cost));
          const steps = [...changes]
            .sort((a, b) => a.at - b.at)
            .map((c) => ({ at: c.at, value: c.value === 0 ? 0 : Math.max(c.value, maxCost) }));
          if (changing) steps.push({ at: 61, value: Math.max(windows[0]!.limit, maxCost) });
          const current = windows.map((w) => w.limit);
          const released: { t: number; a: Arrival; limits: number[] }[] = [];
          let completed = false;
          virtual(
            () => {
              const first = windows[0]!;
              const limit0: number | Observable<number> = changing
                ? merge(
                    timer(0).pipe(map(() => first.limit)),
                    ...steps.map((s) => timer(s.at).pipe(map(() => s.value))),
                  ).pipe(tap((v) => (current[0] = v)))
                : first.limit;
              const rules: RateWindow[] = windows.map((w, i) =>
                i === 0 ? { ...w, limit: limit0 } : w,
              );
              arriving(arrivals, 100)
                .pipe(
                  rateLimit({
                    windows: rules,
                    cost: (a: Arrival) => a.cost,
                    capacity: 1000,
                  }),
                )
                .subscribe({
                  next: (a) => released.push({ t: asyncScheduler.now(), a, limits: [...current] }),
                  complete: () => (completed = true),
                });
            },
            (flush) => flush(),
          );
          expect(completed).toBe(true);
          expect(released.map((r) => r.a.id)).toEqual(arrivals.map((a) => a.id));
          for (const [i, r] of released.entries()) {
            expect(r.t).toBeGreaterThanOrEqual(r.a.at);
            windows.forEach((w, k) => {
              const limit = r.limits[k]!;
              expect(limit).toBeGreaterThan(r.a.cost === 0 ? -1 : 0);
              const inside = (length: number) =>
                released.slice(0, i + 1).filter((o) => o.t + length > r.t);
              const sum = (rs: typeof released) => rs.reduce((total, o) => total + o.a.cost, 0);
              expect(sum(inside(w.interval))).toBeLessThanOrEqual(limit);
              if (w.burst !== undefined && w.burst < limit) {
                // a message costing more than the burst leaves alone: the allowance is the
                // burst or the dearest message inside
                const burst = inside((w.interval * w.burst) / limit);
                expect(sum(burst)).toBeLessThanOrEqual(
                  Math.max(w.burst, ...burst.map((o) => o.a.cost)),
                );
              }
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with one fixed window, each message leaves as early as the window allows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 20 }),
        arrivalTimes(30),
        (limit, interval, times) => {
          const out: number[] = [];
          virtual(
            () =>
              arriving(
                times.map((at, id) => ({ id, at, cost: 1 })),
                100,
              )
                .pipe(rateLimit({ limit, interval, capacity: 1000 }))
                .subscribe(() => out.push(asyncScheduler.now())),
            (flush) => flush(),
          );
          const expected: number[] = [];
          times.forEach((at, i) => {
            let t = Math.max(at, expected[i - 1] ?? 0);
            if (i >= limit) t = Math.max(t, expected[i - limit]! + interval);
            expected.push(t);
          });
          expect(out).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('batch: properties', () => {
  it('never empty, never above size, never later than time; nothing lost, duplicated or reordered', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 10 }),
        arrivalTimes(40),
        fc.integer({ min: 0, max: 20 }),
        (size, time, times, tail) => {
          const arrivals = times.map((at, id) => ({ id, at, cost: 1 }));
          const end = (times.at(-1) ?? 0) + tail + 1;
          const out: { t: number; b: Arrival[] }[] = [];
          let completedAt = -1;
          virtual(
            () =>
              arriving(arrivals, end)
                .pipe(batch({ size, time }))
                .subscribe({
                  next: (b) => out.push({ t: asyncScheduler.now(), b }),
                  complete: () => (completedAt = asyncScheduler.now()),
                }),
            (flush) => flush(),
          );
          expect(completedAt).toBe(end);
          expect(out.flatMap((o) => o.b.map((a) => a.id))).toEqual(arrivals.map((a) => a.id));
          for (const { t, b } of out) {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(size);
            const first = b[0]!.at;
            expect(t).toBeLessThanOrEqual(first + time);
            expect(t).toBeGreaterThanOrEqual(b.at(-1)!.at);
            if (b.length < size) expect(t === first + time || t === end).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('in front of a worker pool, a pull source is at most one batch ahead of the pool', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 60 }),
        (size, time, concurrency, durations, count) => {
          let pulled = 0;
          let done = 0;
          let worst = 0;
          const seen: number[] = [];
          virtual(
            () =>
              fromIterable(
                (function* () {
                  for (let i = 0; i < count; i++) {
                    pulled++;
                    worst = Math.max(worst, pulled - done);
                    yield i;
                  }
                })(),
              )
                .pipe(
                  batch({ size, time }),
                  workerPool(
                    (b: number[]) => timer(durations[b[0]! % durations.length]!).pipe(map(() => b)),
                    { concurrency },
                  ),
                )
                .subscribe((b) => {
                  done += b.length;
                  seen.push(...b);
                }),
            (flush) => flush(),
          );
          expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
          expect(worst).toBeLessThanOrEqual((concurrency + 1) * size);
        },
      ),
      { numRuns: 300 },
    );
  });
});
