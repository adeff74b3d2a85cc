import {
  from,
  isObservable,
  type Observable,
  type ObservableInput,
  type OperatorFunction,
  Subscriber,
} from 'rxjs';
import { BoundedStage } from '../internal/boundedStage.js';
import {
  type Demand,
  isPullable,
  pull,
  type Sink,
  StageObservable,
  wantsReadAhead,
} from '../internal/demand.js';
import { Outlet } from '../internal/outlet.js';
import { bufferConfig } from '../internal/policyBuffer.js';
import { Ring } from '../internal/ring.js';
import { hideLink, restoreLink } from '../internal/roomLink.js';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOptions,
  checkSignal,
} from '../internal/validate.js';
import type { OverflowOptions } from '../overflow.js';

/** What a worker knows about the job it runs. */
export interface WorkerContext {
  /** Which worker runs the job: 0 to `concurrency - 1`, reused as workers free up. */
  readonly workerId: number;
  /** Aborted when the pool's subscriber unsubscribes or the pool fails while the job runs. */
  readonly signal: AbortSignal;
}

/** A failed job, as reported to `onJobError`. */
export interface JobFailure<T> {
  readonly job: T;
  readonly error: unknown;
  readonly workerId: number;
}

/** Options of `workerPool`. */
export interface WorkerPoolConfig<T> extends OverflowOptions<T> {
  /**
   * How many jobs run at once: a whole number >= 1, or an Observable of them (a `watch`
   * receiver, a `BehaviorSubject`) to change it while the pool runs. Raising it starts waiting
   * jobs at once; lowering it lets running jobs finish and starts no new one until fewer than
   * the new limit run. Until an Observable's first value no job starts. @default 1
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
  readonly signal?: AbortSignal;
  /**
   * Keeps the pool running when a job fails and reports each failure here with its job.
   * Without it, the first failure errors the output (like `mergeMap`). An exception thrown by
   * this callback errors the output.
   */
  readonly onJobError?: (failure: JobFailure<T>) => void;
}

/**
 * Runs `work` on each job with at most `concurrency` jobs at once, pulling jobs only as workers
 * free up: `mergeMap(work, concurrency)` with backpressure, a bounded queue, graceful drain, and
 * optional input-order results.
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
 * and `'replace'` discard and report, `'block'` and `'error'` fail the output with
 * `ChannelFullError` carrying the job that did not fit. Under `ordered: true` a finished job
 * keeps its worker until its results are emitted, so the reorder buffer never exceeds
 * `concurrency` jobs.
 *
 * **Errors.** By default a job that throws or whose result errors fails the output, and every
 * other running job is aborted (like `mergeMap`). With `onJobError` the pool reports each
 * failure with its job and keeps going. An upstream error fails the output after it is reached
 * in the queue.
 *
 * **Cancellation.** Unsubscribing aborts each running job's `signal`, unsubscribes its result,
 * and stops intake; queued jobs of a push source are discarded with the subscription. Aborting
 * the pool's `signal` is a graceful drain instead: no new jobs are taken (a channel keeps its
 * unread messages), accepted ones finish, then the output completes.
 *
 * @param work Runs one job; returns any `ObservableInput` (a Promise, an Observable, an array).
 *   Every value it emits is a result; the job is done when it completes.
 * @param config `concurrency`, `capacity`, `overflow`, `onOverflow`, `ordered`, `signal`, `onJobError`.
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
  config?: WorkerPoolConfig<T>,
): OperatorFunction<T, R> {
  const where = 'workerPool';
  checkFunction(where, 'work', work);
  const opts = checkOptions<WorkerPoolConfig<T>>(where, config);
  const concurrency = opts.concurrency ?? 1;
  if (!isObservable(concurrency)) checkInteger(where, 'concurrency', concurrency, 1);
  const queue = bufferConfig<T>(where, opts.capacity ?? 1000, opts);
  const ordered = opts.ordered === undefined ? false : checkBoolean(where, 'ordered', opts.ordered);
  const signal = checkSignal(where, opts.signal);
  const onJobError = checkFunction<(failure: JobFailure<T>) => void>(
    where,
    'onJobError',
    opts.onJobError,
    true,
  );

  return (source) =>
    new StageObservable<R>((downstream) => {
      const subscriber = new Outlet<R>(downstream);
      const pool = new Pool<T, R>(work, ordered, onJobError, subscriber);
      const sink: Sink<T> = pool; // next = accept a job, error = fail, complete = intake done
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
        // a push source, or a working stage allowed to work up to `capacity` ahead
        const stage = new BoundedStage<T>(source, queue, sink, where);
        pool.demand = stage;
        stopIntake = () => stage.stopIntake();
      }
      subscriber.add(() => pool.teardown());
      subscriber.onCredit = () => pool.fill();
      subscriber.onStop = () => stopIntake();
      if (signal) {
        if (signal.aborted) stopIntake();
        else {
          const onAbort = () => stopIntake();
          signal.addEventListener('abort', onAbort, { once: true });
          subscriber.add(() => signal.removeEventListener('abort', onAbort));
        }
      }
      if (isObservable(concurrency)) {
        subscriber.add(
          concurrency.subscribe({
            next: (limit) => {
              try {
                checkInteger(where, 'concurrency', limit, 1);
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
      return subscriber;
    });
}

/** One accepted job: its worker, its result subscription, and (ordered) its held results. */
class Job<T, R> implements WorkerContext {
  controller: AbortController | undefined;
  inner: Subscriber<R> | undefined;
  /** Set once the job's promise/observable settled or the job was cancelled. */
  settled = false;
  done = false;
  held: R[] | undefined;
  /** ordered: the job accepted after this one, while both are in the line. */
  behind: Job<T, R> | undefined;

  constructor(
    readonly job: T,
    readonly workerId: number,
  ) {}

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  cancel(): void {
    this.settled = true;
    this.inner?.unsubscribe();
    this.controller?.abort();
  }
}

/** A job in the ordered line that has neither finished nor produced a result yet. */
function isIdle(job: Job<unknown, unknown>): boolean {
  return !job.done && job.held === undefined;
}

/**
 * The pool's per-subscription state. Workers are slots `0..limit-1`: a job holds its slot
 * while it runs and, when ordered, until its results are emitted. The pool keeps
 * `busy + requested + parked <= limit` by requesting from the source only for free slots; a job
 * that arrives after the limit was lowered waits in `parked` for a slot.
 */
class Pool<T, R> implements Sink<T> {
  demand: Demand | undefined;
  finished = false;
  private limit = 0;
  /** Free worker ids below the limit, lowest on top. */
  private freeIds: number[] = [];
  /** Running (or, ordered, held) jobs by worker id, and how many there are. */
  private readonly slots: Array<Job<T, R> | undefined> = [];
  private busy = 0;
  /** Jobs requested from the source and not yet delivered. */
  private requested = 0;
  /** Jobs delivered while no worker was free (after the limit was lowered). */
  private readonly parked = new Ring<T>(4);
  /** ordered: accepted jobs in input order, until their results are emitted. */
  private readonly ordered: boolean;
  /** ordered: the line as an intrusive list through `Job.behind`, oldest first. */
  private lineHead: Job<T, R> | undefined;
  private lineTail: Job<T, R> | undefined;
  private noMoreJobs = false;
  private flushing = false;

  constructor(
    private readonly work: (job: T, context: WorkerContext) => ObservableInput<R>,
    ordered: boolean,
    private readonly onJobError: ((failure: JobFailure<T>) => void) | undefined,
    private readonly out: Outlet<R>,
  ) {
    this.ordered = ordered;
  }

  /** Changes the number of workers; running jobs are never interrupted. */
  setLimit(limit: number): void {
    if (this.finished) return;
    const old = this.limit;
    if (limit > old) {
      const inUse = new Set<number>();
      for (const job of this.slots) if (job !== undefined) inUse.add(job.workerId);
      for (let id = limit - 1; id >= old; id--) if (!inUse.has(id)) this.freeIds.push(id);
      this.freeIds.sort((a, b) => b - a); // lowest id on top
    } else if (limit < old) {
      this.freeIds = this.freeIds.filter((id) => id < limit);
    }
    this.limit = limit;
    this.startParked();
    this.fill();
  }

  /**
   * Requests a job for every free worker not yet covered by a request or a parked job, as far
   * as the output has room: a job starts only when its result has somewhere to go.
   */
  fill(): void {
    if (this.finished || this.noMoreJobs) return;
    const credit = this.out.credit;
    const want = Math.min(credit, this.limit) - this.busy - this.requested - this.parked.size;
    if (want > 0) {
      this.requested += want;
      this.demand?.request(want);
    }
  }

  /** Sink: the source delivers a requested job. */
  next(value: T): void {
    if (this.finished) return;
    if (this.requested > 0) this.requested--;
    if (this.busy >= this.limit || this.freeIds.length === 0) {
      this.parked.push(value);
      return;
    }
    this.start(value);
  }

  /** The source completed, or intake was stopped by the pool's signal. */
  intakeDone(): void {
    this.noMoreJobs = true;
    this.requested = 0;
    this.maybeComplete();
  }

  /** Sink: the source failed. */
  error(error: unknown): void {
    this.fail(error);
  }

  /** Sink: the source completed. */
  complete(): void {
    this.intakeDone();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.out.error(error);
  }

  teardown(): void {
    this.finished = true;
    this.demand?.cancel();
    for (const job of this.slots) job?.cancel();
    this.slots.length = 0;
    this.busy = 0;
    this.parked.drain();
  }

  private start(value: T): void {
    const workerId = this.freeIds.pop()!;
    const job = new Job<T, R>(value, workerId);
    this.slots[workerId] = job;
    this.busy++;
    if (this.ordered) {
      if (this.lineTail === undefined) this.lineHead = job;
      else this.lineTail.behind = job;
      this.lineTail = job;
    }
    let result: ObservableInput<R>;
    const link = hideLink(); // the job's own sources must not see a link meant for the pool
    try {
      result = this.work(value, job);
    } catch (error) {
      restoreLink(link);
      this.jobFailed(job, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v) => {
          if (job.settled) return;
          this.emit(job, v);
          this.jobDone(job);
        },
        (error: unknown) => {
          if (!job.settled) this.jobFailed(job, error);
        },
      );
      restoreLink(link);
      return;
    }
    const inner = new Subscriber<R>({
      next: (v) => this.emit(job, v),
      error: (error: unknown) => this.jobFailed(job, error),
      complete: () => this.jobDone(job),
    });
    job.inner = inner;
    try {
      from(result).subscribe(inner);
    } catch (error) {
      this.jobFailed(job, error);
    } finally {
      restoreLink(link);
    }
  }

  private startParked(): void {
    while (
      this.parked.size > 0 &&
      this.busy < this.limit &&
      this.freeIds.length > 0 &&
      !this.finished
    ) {
      this.start(this.parked.shift());
    }
  }

  private emit(job: Job<T, R>, value: R): void {
    if (this.finished) return;
    if (!this.ordered || this.lineHead === job) {
      this.out.next(value);
    } else {
      (job.held ??= []).push(value);
    }
  }

  private jobFailed(job: Job<T, R>, error: unknown): void {
    if (job.settled || this.finished) return;
    const report = this.onJobError;
    if (report === undefined) {
      job.settled = true;
      this.vacate(job); // it is over: only the others are aborted
      this.fail(error);
      return;
    }
    try {
      report({ job: job.job, error, workerId: job.workerId });
    } catch (callbackError) {
      job.settled = true;
      this.vacate(job);
      this.fail(callbackError);
      return;
    }
    this.jobDone(job);
  }

  private jobDone(job: Job<T, R>): void {
    if (job.settled) return;
    job.settled = true;
    job.done = true;
    if (!this.ordered) {
      this.release(job);
      this.afterRelease();
    } else if (this.lineHead === job) {
      const next = job.behind;
      if (!this.flushing && job.held === undefined && (next === undefined || isIdle(next))) {
        // the common case: the head finished and the job behind it has nothing to show yet
        this.shiftLine();
        this.release(job);
        this.afterRelease();
      } else {
        this.flushLine();
      }
    }
    // else: it waits, holding its worker, until the jobs before it are emitted
  }

  /**
   * ordered: emits, in input order, what the head of the line holds, and retires finished heads.
   * A job that becomes the head emits its held results at once and streams the rest.
   */
  private flushLine(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.lineHead !== undefined && !this.finished) {
        const head = this.lineHead;
        const held = head.held;
        if (held !== undefined) {
          head.held = undefined;
          for (const v of held) this.out.next(v);
        }
        if (!head.done) break;
        this.shiftLine();
        this.release(head);
      }
    } finally {
      this.flushing = false;
    }
    this.afterRelease();
  }

  /** ordered: takes the head off the line. */
  private shiftLine(): void {
    const head = this.lineHead!;
    this.lineHead = head.behind;
    if (this.lineHead === undefined) this.lineTail = undefined;
    head.behind = undefined;
  }

  private release(job: Job<T, R>): void {
    this.vacate(job);
    if (job.workerId < this.limit) this.freeIds.push(job.workerId);
  }

  private vacate(job: Job<T, R>): void {
    if (this.slots[job.workerId] !== job) return;
    this.slots[job.workerId] = undefined;
    this.busy--;
  }

  private afterRelease(): void {
    this.startParked();
    this.fill();
    this.maybeComplete();
  }

  private maybeComplete(): void {
    if (this.finished || !this.noMoreJobs || this.busy > 0 || this.parked.size > 0) return;
    if (this.lineHead !== undefined) return;
    this.finished = true;
    this.out.complete();
  }
}
