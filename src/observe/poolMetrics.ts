import type { SchedulerLike } from 'rxjs';
import { checkOptions, checkScheduler } from '../internal/validate.js';
import type { Instrumentation, JobEnd, JobStart } from './instrumentation.js';

/** Durations of the jobs counted so far, in milliseconds. */
export interface DurationStats {
  /** Jobs measured. */
  readonly count: number;
  /** Sum of their durations. */
  readonly total: number;
  /** The longest. */
  readonly max: number;
  /** The most recent one (0 before any). */
  readonly last: number;
}

/** What a {@link PoolMetrics} has counted, at one instant. */
export interface PoolSnapshot {
  /** Jobs that arrived and have not started yet. */
  readonly waiting: number;
  /** Jobs started and not ended yet. */
  readonly running: number;
  /** Jobs that ended with each outcome. */
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly dropped: number;
  readonly lost: number;
  /** How long started jobs waited before their start. */
  readonly waited: DurationStats;
  /** How long ended jobs ran (dropped ones excluded). */
  readonly ran: DurationStats;
}

/** Options of {@link poolMetrics}. */
export interface PoolMetricsOptions {
  /** The clock durations are read from. @default a monotonic clock (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
}

/** An {@link Instrumentation} that keeps live counters; read them with `snapshot()`. */
export interface PoolMetrics extends Instrumentation<unknown> {
  /** The counters now, as a new frozen object. */
  snapshot(): PoolSnapshot;
}

interface MutableDurations {
  count: number;
  total: number;
  max: number;
  last: number;
}

const noDurations = (): MutableDurations => ({ count: 0, total: 0, max: 0, last: 0 });

function add(stats: MutableDurations, ms: number): void {
  stats.count++;
  stats.total += ms;
  if (ms > stats.max) stats.max = ms;
  stats.last = ms;
}

/**
 * Live counters of a pool: how many jobs wait, run, and ended done, failed, cancelled, dropped
 * or lost, and how long they waited and ran. Give it as the `instrument` option of
 * `workerPool`, `atLeastOnce` or `consumeQueue` (one per pool, or one shared by several to
 * count them together) and read `snapshot()` whenever you like: a dashboard, a `/metrics`
 * route, a log line every few seconds. Counting costs a few additions per job; nothing is
 * kept per job once it has ended.
 *
 * **Backpressure.** None: it only counts, it never holds a job.
 *
 * **Errors.** A bad `options` (not an object, an unknown name, a `scheduler` that is not one)
 * throws a TypeError naming it; at run time none, and `snapshot()` never throws.
 *
 * **Cancellation.** When an instrumented operator's subscription ends, its running jobs count
 * as `cancelled` and its waiting ones as `dropped`, so `waiting` and `running` return to 0.
 *
 * @param options `scheduler`: the clock for durations (pass the `TestScheduler` in tests).
 * @returns An `Instrumentation` with a `snapshot()`.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, of } from 'rxjs';
 * import { poolMetrics, workerPool } from 'sluice';
 *
 * const metrics = poolMetrics();
 * const work = async (n: number) => {
 *   if (n === 3) throw new Error('bad job');
 *   return n;
 * };
 * await lastValueFrom(
 *   of(1, 2, 3, 4).pipe(workerPool(work, { concurrency: 2, instrument: metrics, onJobError: () => {} })),
 * );
 * const { done, failed, running, waiting, ran } = metrics.snapshot();
 * assert.deepEqual({ done, failed, running, waiting, measured: ran.count }, {
 *   done: 3, failed: 1, running: 0, waiting: 0, measured: 4,
 * });
 * ```
 */
export function poolMetrics(options?: PoolMetricsOptions): PoolMetrics {
  const opts = checkOptions<PoolMetricsOptions>('poolMetrics', options, ['scheduler']);
  const scheduler = checkScheduler<SchedulerLike>('poolMetrics', opts.scheduler);
  let queued = 0;
  let started = 0;
  const ended = { done: 0, failed: 0, cancelled: 0, dropped: 0, lost: 0 };
  const waited = noDurations();
  const ran = noDurations();
  const metrics: PoolMetrics = {
    onQueued(): void {
      queued++;
    },
    onStart(event: JobStart<unknown>): void {
      started++;
      add(waited, event.waitedMs);
    },
    onEnd(event: JobEnd<unknown>): void {
      ended[event.outcome]++;
      if (event.outcome !== 'dropped') add(ran, event.ranMs);
    },
    snapshot(): PoolSnapshot {
      return Object.freeze({
        waiting: queued - started - ended.dropped,
        running: started - (ended.done + ended.failed + ended.cancelled + ended.lost),
        ...ended,
        waited: Object.freeze({ ...waited }),
        ran: Object.freeze({ ...ran }),
      });
    },
  };
  return scheduler === undefined ? metrics : { ...metrics, scheduler };
}
