import {
  isObservable,
  type Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { BoundedStage } from '../internal/boundedStage.js';
import { isPullable, pull, type Sink, wantsReadAhead } from '../internal/demand.js';
import { operate } from '../internal/operator/operate.js';
import { Pool } from '../internal/operator/pool.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { checkLiveLimit, poolFlow } from '../internal/poolFlow.js';
import {
  checkBoolean,
  checkCapacity,
  checkFunction,
  checkOptions,
  checkSignal,
  optionNames,
} from '../internal/validate.js';
import type { Instrumentation } from '../observe/instrumentation.js';
import { probeOption, withArrivals } from '../observe/probe.js';
import type { OverflowOptions } from '../overflow.js';
import type { JobFailure, WorkerContext } from '../workerPoolRecords.js';

export type { JobFailure, WorkerContext };

/** Options of `workerPool`. */
export interface WorkerPoolOptions<T> extends OverflowOptions<T> {
  /**
   * How many jobs run at once: a whole number >= 1 or `Infinity` (what a subscription costs
   * does not depend on it), or an Observable of them (a `watch` receiver, a `BehaviorSubject`)
   * to change it while the pool runs. Raising it starts waiting jobs at once; lowering it lets
   * running jobs finish and starts no new one until fewer than the new limit run (jobs a channel
   * had already handed over start as they arrive, never held back). Until an Observable's first
   * value no job starts. An Observable may also give 0, which pauses the pool: running jobs
   * finish, no job starts (one that arrives waits, counted against `capacity`) until a value
   * >= 1 resumes it. @default 1
   */
  readonly concurrency?: number | Observable<number>;
  /**
   * How many jobs may wait ahead of the workers: from a push source, or read ahead from a
   * sluice stage in front (a channel or an iterator is pulled one job per free worker instead,
   * and needs no queue). @default 1000
   */
  readonly capacity?: number;
  /** Emit results in input order (Akka's `mapAsync`) rather than as they finish. @default false */
  readonly ordered?: boolean;
  /** Aborting it drains the pool: intake stops, accepted jobs finish, then the output completes. */
  readonly drain?: AbortSignal;
  /**
   * The former name of `drain` (aborting it drains the pool, it does not cancel it); passing
   * both is an error.
   * @deprecated Use `drain`: `signal` means "abort this call" everywhere else in sluice.
   */
  readonly signal?: AbortSignal;
  /**
   * Keeps the pool running when a job fails and reports each failure here with its job.
   * Without it, the first failure errors the output (like `mergeMap`). An exception thrown by
   * this callback errors the output.
   */
  readonly onJobError?: (failure: JobFailure<T>) => void;
  /**
   * Told as jobs arrive, start and end, with how long each waited and ran (`poolMetrics()`
   * counts them). A job waits from its arrival in the pool's queue (a push source) to its
   * start; from a channel or `fromIterable` a job is taken only for a free worker, so it waits
   * in the channel instead and starts with `waitedMs` 0.
   */
  readonly instrument?: Instrumentation<T>;
  /**
   * Runs jobs of the same key one at a time (or `perKey` at a time), in arrival order; jobs of
   * different keys run beside each other up to `concurrency`. A job whose key is busy waits
   * without holding a worker, so it never holds back other keys; waiting jobs count against
   * `capacity`. Keys are compared as `Map` keys (`SameValueZero`). An exception it throws
   * fails the output.
   */
  readonly key?: (job: T) => unknown;
  /** With `key`: how many jobs of one key may run at once. @default 1 */
  readonly perKey?: number;
  /**
   * How long a job may run, in milliseconds from its start: past it the job's `signal` is
   * aborted, its result unsubscribed, and it fails with `JobTimeoutError`, reported like any
   * failed job (to `onJobError`, or as the output's error). @default Infinity
   */
  readonly timeout?: number;
  /** Where `timeout` is timed. @default a monotonic scheduler (`performance.now()`) */
  readonly scheduler?: SchedulerLike;
}

/**
 * The former name of `WorkerPoolOptions`.
 * @deprecated Use `WorkerPoolOptions`.
 */
export type WorkerPoolConfig<T> = WorkerPoolOptions<T>;

const WORKERPOOL_OPTIONS = optionNames<WorkerPoolOptions<unknown>>()({
  concurrency: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  ordered: 1,
  drain: 1,
  signal: 1,
  onJobError: 1,
  instrument: 1,
  key: 1,
  perKey: 1,
  timeout: 1,
  scheduler: 1,
});

/**
 * Runs `work` on each job with at most `concurrency` jobs at once, pulling jobs only as workers
 * free up: `mergeMap(work, concurrency)` with backpressure, a bounded queue, graceful drain, and
 * optional input-order results. Within its bounds it behaves as mergeMap does: the same results,
 * subscriptions and teardown order (a worker takes its next job only after the previous job's
 * subscription is torn down, its `finalize` run). What differs, including one ordering case with
 * synchronous jobs, is listed in the worker-pool guide under "Coming from mergeMap".
 *
 * ```text
 * source:   -a-b-c-d-|         concurrency 2, each job takes 4 frames
 * workers:   [a---][c---]
 *              [b---][d---]
 * output:   -----A-B---C-D|    (ordered: false emits as jobs finish)
 * ```
 *
 * **Backpressure.** The pool starts a job only when its result has somewhere to go: its output
 * is demand-aware, so a sluice stage after it (another pool, `atLeastOnce`, `for await`) sets
 * its pace, and a plain subscriber is unlimited demand. From a channel receiver, `fromIterable`
 * or `bounded` the pool requests one job per free worker, so `await tx.send()` on a `'block'`
 * channel of capacity C never has more than C + `concurrency` messages accepted and unfinished.
 * A sluice stage in front (another pool, a delivery stage) is let work up to `capacity`
 * (default 1000) ahead, so that its workers stay busy. Synchronous RxJS operators between
 * stages (`map`, `filter`, `scan`, `take`, ...) carry that demand: a chain of stages stays
 * within the sum of their capacities and concurrencies. A source that cannot be paced (a
 * `Subject`, `interval`, or a `delay`, `observeOn` or asynchronous `mergeMap` in between) fills
 * a queue of `capacity` governed by `overflow` and `onOverflow`, exactly as `bounded`: `'drop'`
 * and `'replace'` discard and report, `'block'` and `'error'` stop taking jobs, let every
 * accepted job finish, then fail the output with `ChannelFullError` carrying the job that did
 * not fit. A job that arrives while a worker is free goes straight to it and takes no queue
 * slot, even when it is pushed from inside another job's emission. Under `ordered: true` a
 * finished job keeps its worker until its results are emitted, so the reorder buffer never
 * exceeds `concurrency` jobs.
 *
 * **Errors.** By default a job that throws or whose result errors fails the output, and every
 * other running job is aborted (like `mergeMap`). With `onJobError` the pool reports each
 * failure with its job and keeps going. An error of a plain Observable source fails the output
 * at once, like `mergeMap`: running jobs are cut off (their `signal` aborted) and jobs still
 * waiting in the queue are never started. A sluice source (a channel receiver, `fromIterable`)
 * ends with its error only after handing over what it held; the jobs the pool took from it
 * finish, then the output fails.
 *
 * **Cancellation.** Unsubscribing aborts each running job's `signal`, unsubscribes its result,
 * and stops intake; queued jobs of a push source are discarded with the subscription. Aborting
 * the pool's `drain` signal is a graceful drain instead: no new jobs are taken (a channel keeps
 * its unread messages), accepted ones finish, then the output completes. (`drain` was called
 * `signal`, still accepted but deprecated: `signal` means "cancel this call" elsewhere.)
 *
 * @param work Runs one job; returns any `ObservableInput` (a Promise, an Observable, an array).
 *   Every value it emits is a result; the job is done when it completes.
 * @param options `concurrency`, `capacity`, `overflow`, `onOverflow`, `ordered`, `drain`,
 *   `onJobError`, `key`, `perKey`, `timeout`, `scheduler`.
 * @returns An operator from jobs to results.
 * @throws RangeError or TypeError for a bad argument, naming it.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { fromIterable, workerPool } from 'sluice';
 *
 * const running = { now: 0, max: 0 };
 * const double = async (n: number) => {
 *   running.max = Math.max(running.max, ++running.now);
 *   await Promise.resolve();
 *   running.now--;
 *   return n * 2;
 * };
 * const results = await lastValueFrom(
 *   fromIterable([1, 2, 3, 4, 5]).pipe(workerPool(double, { concurrency: 2, ordered: true }), toArray()),
 * );
 * assert.deepEqual(results, [2, 4, 6, 8, 10]);
 * assert.equal(running.max, 2);
 * ```
 */
export function workerPool<T, R>(
  work: (job: T, context: WorkerContext) => ObservableInput<R>,
  options?: WorkerPoolOptions<T>,
): OperatorFunction<T, R> {
  const where = 'workerPool';
  checkFunction(where, 'work', work);
  const opts = checkOptions<WorkerPoolOptions<T>>(where, options, WORKERPOOL_OPTIONS);
  // only a missing option takes its default: null is a mistake, refused like any bad value
  const concurrency = opts.concurrency === undefined ? 1 : opts.concurrency;
  if (!isObservable(concurrency)) checkCapacity(where, 'concurrency', concurrency);
  const queue = bufferConfig<T>(where, opts.capacity === undefined ? 1000 : opts.capacity, opts);
  const ordered = opts.ordered === undefined ? false : checkBoolean(where, 'ordered', opts.ordered);
  const drain = drainSignal(where, opts);
  const onJobError = checkFunction<(failure: JobFailure<T>) => void>(
    where,
    'onJobError',
    opts.onJobError,
    true,
  );
  const probe = probeOption<T>(where, opts.instrument);
  const flow = poolFlow<T>(where, opts, isObservable(concurrency));
  const capacity = opts.capacity === undefined ? 1000 : opts.capacity;

  return operate<T, R>((source, subscriber) => {
    const pool = new Pool<T, R>(work, ordered, onJobError, subscriber, flow, capacity);
    const watch = probe?.fresh();
    pool.probe = watch;
    const sink: Sink<T> = pool; // next = start a job; error, complete = end once the taken jobs are done
    let stopIntake: () => void;
    if (isPullable<T>(source) && !wantsReadAhead(source)) {
      // a channel or an iterator: it is the buffer, asked for one job per free worker
      const demand = source[pull](sink);
      pool.demand = demand;
      stopIntake = () => {
        if (demand.stop !== undefined) demand.stop();
        else {
          demand.cancel();
          pool.intakeDone();
        }
      };
    } else {
      // a push source, or a working stage allowed to work up to `capacity` ahead; the
      // queue's refusals reach `pool.error`, the source's own errors fail the pool at once
      const watched = watch !== undefined && !isPullable(source);
      const input = watched ? withArrivals(source, watch) : source;
      const config = watched ? watch.watchOverflow(queue) : queue;
      const stage = new BoundedStage<T>(input, config, sink, where, {
        onUpstreamError: (error) => pool.fail(error),
      });
      pool.demand = stage;
      pool.stage = stage;
      stopIntake = () => stage.stopIntake();
    }
    subscriber.add(() => pool.teardown());
    subscriber.onCredit = () => pool.fill();
    subscriber.onStop = () => stopIntake();
    if (drain) {
      if (drain.aborted) stopIntake();
      else {
        const onAbort = () => stopIntake();
        drain.addEventListener('abort', onAbort, { once: true });
        subscriber.add(() => drain.removeEventListener('abort', onAbort));
      }
    }
    if (isObservable(concurrency)) {
      subscriber.add(
        concurrency.subscribe({
          next: (limit) => {
            try {
              checkLiveLimit(where, limit);
            } catch (err) {
              pool.fail(err);
              return;
            }
            pool.setLimit(limit);
          },
          error: (err: unknown) => pool.fail(err),
        }),
      );
    } else {
      pool.setLimit(concurrency);
    }
  });
}

/** The `drain` option, or its deprecated alias `signal`; both at once is a mistake, named. */
function drainSignal(
  where: string,
  opts: Pick<WorkerPoolOptions<unknown>, 'drain' | 'signal'>,
): AbortSignal | undefined {
  if (opts.drain !== undefined && opts.signal !== undefined) {
    throw new TypeError(
      `${where}: drain and signal (its deprecated alias) are the same option, pass only drain, got both`,
    );
  }
  return opts.drain !== undefined
    ? checkSignal(where, opts.drain, 'drain')
    : checkSignal(where, opts.signal);
}
