import type { SchedulerLike } from 'rxjs';

/**
 * How a job ended.
 * - `'done'`: it completed (for `consumeQueue`: its handler succeeded and the ack was accepted).
 * - `'failed'`: it threw or its result failed (for `consumeQueue`: the message was nacked).
 * - `'cancelled'`: it was running when the subscription ended (unsubscribe, or the pool failed).
 * - `'dropped'`: it never started: an overflow policy discarded it, or it was still waiting when
 *   the subscription ended.
 * - `'lost'` (`consumeQueue` only): the lease was gone when the consumer settled it.
 */
export type JobOutcome = 'done' | 'failed' | 'cancelled' | 'dropped' | 'lost';

/** A job that started, as reported to `onStart`. */
export interface JobStart<T> {
  readonly job: T;
  /** The worker that runs it (`workerPool`, `consumeQueue`); undefined for `atLeastOnce`. */
  readonly workerId: number | undefined;
  /** Milliseconds it waited in the operator before it started. */
  readonly waitedMs: number;
}

/** A job that ended, as reported to `onEnd`. */
export interface JobEnd<T> {
  readonly job: T;
  readonly outcome: JobOutcome;
  /** Milliseconds it waited in the operator before it started (until it was dropped, if so). */
  readonly waitedMs: number;
  /** Milliseconds it ran, from its start to its end; 0 for a dropped job. */
  readonly ranMs: number;
}

/**
 * A light, dependency-free hook on a pool of jobs: `workerPool`, `atLeastOnce` and
 * `consumeQueue` take it as their `instrument` option and call it as jobs arrive, start and
 * end. Every job that arrives ends exactly once, so `queued - started` jobs are waiting and
 * `started - ended` are running. {@link poolMetrics} is a ready-made one that keeps counters.
 *
 * Durations are read from `scheduler` (default: the monotonic clock sluice times everything
 * with), so they follow virtual time under a `TestScheduler`.
 *
 * **Errors.** An exception thrown by a callback is reported as an unhandled error (to RxJS's
 * `config.onUnhandledError` when set, else thrown from a microtask); it never disturbs the
 * jobs. An operator refuses, when created, an `instrument` that is not an object or a hook
 * that is not a function.
 *
 * **Backpressure.** None: the operator calls the hooks as it goes and never waits for them.
 *
 * **Cancellation.** When the operator's subscription ends, each running job ends `'cancelled'`
 * and each waiting job `'dropped'`, so the counters always add up.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, of } from 'rxjs';
 * import { type Instrumentation, workerPool } from 'sluice';
 *
 * const ended: string[] = [];
 * const instrument: Instrumentation<number> = {
 *   onEnd: ({ job, outcome }) => ended.push(`${job}:${outcome}`),
 * };
 * await lastValueFrom(of(1, 2).pipe(workerPool(async (n: number) => n, { instrument })));
 * assert.deepEqual(ended, ['1:done', '2:done']);
 * ```
 */
export interface Instrumentation<T = unknown> {
  /** The clock durations are read from. @default a monotonic clock (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
  /** A job reached the operator; it waits until a worker takes it (often at once). */
  readonly onQueued?: (job: T) => void;
  /** A job started on a worker. */
  readonly onStart?: (event: JobStart<T>) => void;
  /** A job ended, once per job that was queued. */
  readonly onEnd?: (event: JobEnd<T>) => void;
}
