import { from, type ObservableInput, Subscriber } from 'rxjs';
import { JobTimeoutError } from '../../errors.js';
import type { JobFailure, WorkerContext } from '../../workerPoolRecords.js';
import type { BoundedStage } from '../boundedStage.js';
import { type Scheduled, scheduleAt } from '../deadlineTimer.js';
import type { ConsumerFailure, Demand, Sink } from '../demand.js';
import type { KeyedLanes } from '../keyedLanes.js';
import type { Outlet } from '../outlet.js';
import type { PoolFlow } from '../poolFlow.js';
import { hideLink, restoreLink } from '../roomLink.js';
import type { StageProbe } from './stageProbe.js';

/** Jobs asked of the source at once, at most; more are asked as these arrive. */
const MAX_REQUEST = 1024;

/**
 * One accepted job: its worker, its result subscription, its place among the running jobs and
 * (ordered) in the line, and its held results.
 */
class Job<T, R> implements WorkerContext {
  controller: AbortController | undefined;
  sub: JobSubscriber<T, R> | undefined;
  /** Its result completed (or its failure was reported): it is over once torn down. */
  completed = false;
  /** Nothing it does counts any more: it is over, cancelled, or it failed the pool. */
  settled = false;
  /** It failed the pool: its teardown unsubscribes it but does not abort its signal. */
  failed = false;
  held: R[] | undefined;
  /** Instrumented: its start, for reporting its end. */
  started: object | undefined;
  /** ordered: the job accepted after this one, while both are in the line. */
  behind: Job<T, R> | undefined;
  /** Its `timeout`, while it runs. */
  timer: Scheduled | undefined;

  constructor(
    readonly job: T,
    readonly workerId: number,
    /** Start order: teardown cuts jobs off oldest first, as mergeMap does. */
    readonly seq: number,
    /** Its key, when jobs have keys. */
    readonly key: unknown,
  ) {}

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  cancel(): void {
    this.settled = true;
    this.timer?.cancel();
    this.sub?.unsubscribe();
    if (!this.failed) this.controller?.abort();
  }
}

/**
 * Subscribes to one job's result. Like the inner subscriber of RxJS's `mergeMap`, it tells the
 * pool a job is over only after its subscription is torn down (`finalize` has run), so a
 * worker is never handed a new job while the previous one still holds what it releases in its
 * teardown.
 */
class JobSubscriber<T, R> extends Subscriber<R> {
  /** `subscribe` has not returned yet: a teardown is counted once it has. */
  subscribing = true;
  /** Torn down while `subscribing`. */
  tornDown = false;

  constructor(
    private readonly pool: Pool<T, R>,
    private readonly job: Job<T, R>,
  ) {
    super();
  }

  protected override _next(value: R): void {
    this.pool.emit(this.job, value);
  }

  protected override _error(error: unknown): void {
    this.pool.jobFailed(this.job, error);
    this.unsubscribe();
  }

  protected override _complete(): void {
    this.job.completed = true;
    this.unsubscribe();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    if (this.subscribing) this.tornDown = true;
    else this.pool.tornDown(this.job);
  }
}

/** A job in the ordered line that has neither finished nor produced a result yet. */
function isIdle<T, R>(job: Job<T, R>): boolean {
  return !(job.completed && job.settled) && job.held === undefined;
}

/**
 * The pool's per-subscription state, O(1) in `concurrency`: workers are ids handed out as jobs
 * start and reused as they finish. Every job the source hands over starts at once: the pool
 * asks for jobs only for free workers (`fill`), so nothing waits inside it, and a job asked for
 * before the limit was lowered runs on a worker above the new limit rather than being held.
 */
export class Pool<T, R> implements Sink<T> {
  /** The source's demand handle. */
  demand: Demand | undefined;
  /** Set when the source is a push source: its queue, whose outstanding demand can be lowered. */
  stage: BoundedStage<T> | undefined;
  finished = false;
  /** The `instrument` option's probe, when given. */
  probe: StageProbe<T> | undefined;
  /** Set when the pool failed: its source is told, so a channel closes. */
  private failure: ConsumerFailure | undefined;
  private limit = 0;
  /** Jobs holding a worker: running, or (ordered) finished and waiting for their turn. */
  private busy = 0;
  /** Jobs asked of the source and not yet delivered. */
  private requested = 0;
  /** Released worker ids below the limit, reused first. */
  private readonly freeIds: number[] = [];
  /** Released worker ids at or above a lowered limit, reused if it rises again. */
  private readonly spareIds: number[] = [];
  /** The lowest id never handed out. */
  private nextId = 0;
  /** Jobs holding a worker, by worker id (ids are dense: as many as were ever busy at once). */
  private readonly slots: Array<Job<T, R> | undefined> = [];
  /** Jobs started so far. */
  private started = 0;
  private readonly ordered: boolean;
  /** ordered: the line as an intrusive list through `Job.behind`, oldest first. */
  private lineHead: Job<T, R> | undefined;
  private lineTail: Job<T, R> | undefined;
  private noMoreJobs = false;
  /** The error the output fails with once the jobs already taken have finished. */
  private ending: { error: unknown } | undefined;
  private flushing = false;
  /** Jobs that may not start yet: behind their key, or while paused (see `poolFlow`). */
  private readonly lanes: KeyedLanes<T> | undefined;
  private pumping = false;

  constructor(
    private readonly work: (job: T, context: WorkerContext) => ObservableInput<R>,
    ordered: boolean,
    private readonly onJobError: ((failure: JobFailure<T>) => void) | undefined,
    private readonly out: Outlet<R>,
    private readonly flow: PoolFlow<T>,
    private readonly capacity: number,
  ) {
    this.ordered = ordered;
    this.lanes = flow.makeLanes?.();
  }

  /** Changes the number of workers; running jobs are never interrupted. */
  setLimit(limit: number): void {
    if (this.finished) return;
    const old = this.limit;
    this.limit = limit;
    if (limit < old) {
      moveIds(this.freeIds, this.spareIds, (id) => id >= limit);
      // a push source's queue keeps what it had not handed over yet
      if (this.stage !== undefined) {
        this.requested = this.stage.limitDemand(Math.max(0, limit - this.busy));
      }
    } else if (limit > old) {
      moveIds(this.spareIds, this.freeIds, (id) => id < limit);
      this.freeIds.sort((a, b) => b - a); // lowest id on top
    }
    this.pump();
    this.fill();
  }

  /**
   * Asks the source for a job for every free worker not yet asked for, as far as the output
   * has room: a job starts only when its result has somewhere to go. This is the one place
   * that decides how many jobs the pool takes: every job the source delivers starts at once.
   */
  fill(): void {
    if (this.finished || this.noMoreJobs) return;
    const credit = this.out.credit;
    let want =
      Math.min(credit, this.limit, this.busy + this.requested + MAX_REQUEST) -
      this.busy -
      this.requested;
    // jobs waiting behind their key hold no worker, but count against `capacity`
    if (this.lanes !== undefined) {
      want = Math.min(want, this.capacity - this.lanes.size - this.requested);
    }
    if (want > 0) {
      this.requested += want;
      this.demand?.request(want);
    }
  }

  /** Sink: the source delivers a job the pool asked for. */
  next(value: T): void {
    if (this.finished) return;
    if (this.requested > 0) this.requested--;
    const lanes = this.lanes;
    if (
      lanes === undefined ||
      (this.flow.keyOf === undefined && this.limit > 0 && lanes.size === 0)
    ) {
      this.start(value, undefined);
    } else if (!this.hold(lanes, value)) return;
    // asks are capped at MAX_REQUEST: ask again if workers are still free
    if (this.requested === 0 && this.busy < this.limit) this.fill();
  }

  /**
   * Sink: a sluice source failed after handing over what it held, or a push source's queue
   * refused a job. Either way the end comes after the jobs already taken: they finish, then the
   * output fails. (A push source's own error fails the pool at once, through `fail`.)
   */
  error(error: unknown): void {
    this.ending = { error };
    this.intakeDone();
  }

  /** Sink: the source completed. */
  complete(): void {
    this.intakeDone();
  }

  /** The source completed, or intake was stopped by the pool's `drain` signal. */
  intakeDone(): void {
    this.noMoreJobs = true;
    this.requested = 0;
    this.maybeComplete();
  }

  /** Fails the output at once; the teardown cuts off the running jobs. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    // a failed consumer closes a channel it reads, so that its producers are not left waiting
    this.failure = { error };
    this.out.error(error);
  }

  teardown(): void {
    this.finished = true;
    this.demand?.cancel(this.failure ?? this.out.cancelledBy);
    const running = this.slots.filter((job) => job !== undefined);
    this.slots.length = 0;
    this.lineHead = this.lineTail = undefined;
    this.lanes?.clear();
    running.sort((a, b) => a.seq - b.seq); // oldest first, as mergeMap does
    for (const job of running) {
      if (job.started !== undefined) this.probe!.end(job.started, 'cancelled');
      job.cancel();
    }
    this.busy = 0;
    this.probe?.dropAll();
  }

  /** Puts a job in its lane and starts what may start; false if that failed the pool. */
  private hold(lanes: KeyedLanes<T>, value: T): boolean {
    let key: unknown;
    if (this.flow.keyOf !== undefined) {
      try {
        key = this.flow.keyOf(value);
      } catch (error) {
        this.fail(error);
        return false;
      }
    }
    if (this.busy < this.limit && lanes.enter(key)) {
      this.start(value, key); // the common case: a worker is free and its key has room
      return !this.finished;
    }
    lanes.push(key, value);
    this.pump();
    return !this.finished;
  }

  /** Starts waiting jobs while workers are free and their keys have room. */
  private pump(): void {
    const lanes = this.lanes;
    if (lanes === undefined || this.pumping) return;
    this.pumping = true;
    try {
      while (!this.finished && this.busy < this.limit && lanes.hasReady) {
        const job = lanes.take();
        this.start(job, lanes.takenKey);
      }
    } finally {
      this.pumping = false;
    }
  }

  private start(value: T, key: unknown): void {
    const job = new Job<T, R>(value, this.takeId(), this.started++, key);
    this.slots[job.workerId] = job;
    this.busy++;
    if (this.probe !== undefined) job.started = this.probe.start(value, job.workerId);
    const timeout = this.flow.timeout;
    if (timeout !== undefined) {
      const scheduler = this.flow.scheduler;
      job.timer = scheduleAt(scheduler, scheduler.now() + timeout, () => this.timedOut(job));
    }
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
      if (job.completed) this.over(job);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v) => {
          if (job.settled) return;
          this.emit(job, v);
          job.completed = true;
          this.over(job);
        },
        (error: unknown) => {
          if (job.settled) return;
          this.jobFailed(job, error);
          if (job.completed) this.over(job);
        },
      );
      restoreLink(link);
      return;
    }
    const sub = new JobSubscriber<T, R>(this, job);
    job.sub = sub;
    try {
      from(result).subscribe(sub);
    } catch (error) {
      sub.error(error);
    } finally {
      restoreLink(link);
    }
    sub.subscribing = false;
    // torn down inside `subscribe`: now that it returned, its finalizers have all run
    if (sub.tornDown) this.tornDown(job);
  }

  /** The worker id for a new job: a released one, else a new one. */
  private takeId(): number {
    const free = this.freeIds.pop();
    if (free !== undefined) return free;
    // above the limit only for a job asked for before the limit was lowered
    if (this.nextId < this.limit || this.spareIds.length === 0) return this.nextId++;
    return this.spareIds.pop()!;
  }

  emit(job: Job<T, R>, value: R): void {
    if (this.finished) return;
    if (!this.ordered || this.lineHead === job) {
      this.out.next(value);
    } else {
      (job.held ??= []).push(value);
    }
  }

  /** A job threw or its result failed: fail the output, or report it and count it completed. */
  jobFailed(job: Job<T, R>, error: unknown): void {
    if (job.settled || this.finished) return;
    if (job.started !== undefined) this.probe!.end(job.started, 'failed');
    const report = this.onJobError;
    if (report !== undefined) {
      try {
        report({ job: job.job, error, workerId: job.workerId });
        job.completed = true;
        return;
      } catch (callbackError) {
        error = callbackError;
      }
    }
    job.settled = true;
    job.failed = true; // it is over: only the others are aborted
    this.fail(error);
  }

  /** A job ran past its `timeout`: abort it and report it failed. */
  private timedOut(job: Job<T, R>): void {
    job.timer = undefined;
    if (job.settled || job.completed || this.finished) return;
    const error = new JobTimeoutError(job.job, this.flow.timeout!);
    job.controller?.abort(error);
    this.jobFailed(job, error);
    if (!job.completed) return; // it failed the pool
    if (job.sub === undefined) this.over(job);
    else job.sub.unsubscribe(); // over once torn down
  }

  /** A job's result subscription was torn down. */
  tornDown(job: Job<T, R>): void {
    if (!job.settled && job.completed) this.over(job);
  }

  /** A job completed and was torn down: its worker is free unless (ordered) it must wait. */
  private over(job: Job<T, R>): void {
    job.settled = true;
    if (job.started !== undefined) this.probe!.end(job.started, 'done');
    job.timer?.cancel();
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
        if (!(head.completed && head.settled)) break; // still running
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
    this.slots[job.workerId] = undefined;
    this.busy--;
    if (this.flow.keyOf !== undefined) this.lanes!.done(job.key);
    if (job.workerId < this.limit) this.freeIds.push(job.workerId);
    else this.spareIds.push(job.workerId);
  }

  private afterRelease(): void {
    this.pump();
    this.fill();
    this.maybeComplete();
  }

  private maybeComplete(): void {
    if (this.finished || !this.noMoreJobs || this.busy > 0 || this.lineHead !== undefined) return;
    if (this.lanes !== undefined && this.lanes.size > 0) return;
    this.finished = true;
    if (this.ending === undefined) this.out.complete();
    else this.out.error(this.ending.error);
  }
}

/** Moves the ids that match from one list to another. */
function moveIds(from: number[], to: number[], matches: (id: number) => boolean): void {
  let kept = 0;
  for (const id of from) {
    if (matches(id)) to.push(id);
    else from[kept++] = id;
  }
  from.length = kept;
}
