/**
 * rateLimit and batch between sluice stages, deterministically: 20k messages from
 * `fromIterable` in virtual time, everything delivered in order, and the producer never more
 * than the stages' bound ahead of the end of the pipeline at any step (a pull source in front
 * is not drained ahead).
 */
import { concatMap, from, map, type Observable, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { batch, fromIterable, rateLimit, workerPool } from '../../src/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { AheadMeter } from '../support/demand.js';

const N = 20_000;

/** `fromIterable` over 0..count-1, counting each pull into `meter`. */
function counted(count: number, meter: AheadMeter): Observable<number> {
  return fromIterable({
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) {
        meter.enter();
        yield i;
      }
    },
  });
}

const work =
  (clock: ManualClock, frames: number) =>
  <T>(value: T): Observable<T> =>
    timer(frames, clock).pipe(map(() => value));

describe('rateLimit and batch between stages, 20k messages from fromIterable', () => {
  const cases: {
    name: string;
    bound: number;
    build: (source: Observable<number>, clock: ManualClock) => Observable<number>;
  }[] = [
    {
      name: 'rateLimit → workerPool(2)',
      bound: 1 + 2,
      build: (source, clock) =>
        source.pipe(
          rateLimit({ limit: 10, interval: 5, scheduler: clock }),
          workerPool(work(clock, 3), { concurrency: 2, ordered: true }),
        ),
    },
    {
      name: 'map → rateLimit(capacity 16) → workerPool(2)',
      bound: 16 + 1 + 2,
      build: (source, clock) =>
        source.pipe(
          map((n) => n),
          rateLimit({ limit: 10, interval: 5, capacity: 16, scheduler: clock }),
          workerPool(work(clock, 3), { concurrency: 2, ordered: true }),
        ),
    },
    {
      name: 'workerPool(4) → rateLimit(capacity 16) → workerPool(2)',
      bound: 4 + 16 + 1 + 2,
      build: (source, clock) =>
        source.pipe(
          workerPool(work(clock, 1), { concurrency: 4, capacity: 16, ordered: true }),
          rateLimit({ limit: 10, interval: 5, capacity: 16, scheduler: clock }),
          workerPool(work(clock, 3), { concurrency: 2, ordered: true }),
        ),
    },
    {
      name: 'batch(8) → workerPool(2)',
      bound: (2 + 1) * 8,
      build: (source, clock) =>
        source.pipe(
          batch({ size: 8, time: 3, scheduler: clock }),
          workerPool(work(clock, 5), { concurrency: 2, ordered: true }),
          concatMap((b) => from(b)),
        ),
    },
    {
      name: 'rateLimit → batch(8) → workerPool(1)',
      bound: 1 + (1 + 1) * 8,
      build: (source, clock) =>
        source.pipe(
          rateLimit({ limit: 4, interval: 1, scheduler: clock }),
          batch({ size: 8, time: 3, scheduler: clock }),
          workerPool(work(clock, 5), { concurrency: 1, ordered: true }),
          concatMap((b) => from(b)),
        ),
    },
  ];

  for (const { name, bound, build } of cases) {
    it(`${name}: all in order, never more than ${bound} held`, () => {
      const clock = new ManualClock();
      const meter = new AheadMeter(bound);
      const output: number[] = [];
      let error: unknown;
      let completed = false;
      build(counted(N, meter), clock).subscribe({
        next: (v) => {
          output.push(v);
          meter.leave();
        },
        error: (e: unknown) => {
          error = e;
        },
        complete: () => {
          completed = true;
        },
      });
      clock.runAll();
      expect(error).toBeUndefined();
      expect(completed).toBe(true);
      expect(output).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(meter.violation).toBeUndefined();
    });
  }
});
