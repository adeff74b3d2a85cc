import { type Observable, type SchedulerLike, tap } from 'rxjs';
import type { BufferConfig } from '../internal/policyBuffer.js';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import { checkFunction, describe } from '../internal/validate.js';
import type { Instrumentation, JobEnd, JobOutcome, JobStart } from './instrumentation.js';

/** A job that waits in an operator: what it is and when it arrived. */
interface Arrival<T> {
  readonly job: T;
  readonly at: number;
}

/** A job that started: what `Probe.end` needs to report it once. */
export class StartedJob<T> {
  ended = false;
  constructor(
    readonly job: T,
    readonly waitedMs: number,
    readonly startedAt: number,
  ) {}
}

/**
 * Reads an operator's `instrument` option: undefined (the operator then skips every hook, so
 * an uninstrumented operator pays one `undefined` check per job) or a probe over it.
 */
export function probeOption<T>(
  where: string,
  value: unknown,
  clock: SchedulerLike = monotonicScheduler,
): Probe<T> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `${where}: instrument must be an Instrumentation (an object with onQueued, onStart or onEnd), got ${describe(value)}`,
    );
  }
  const hooks = value as Instrumentation<T>;
  const scheduler = hooks.scheduler;
  if (
    scheduler !== undefined &&
    (scheduler === null ||
      typeof scheduler !== 'object' ||
      typeof (scheduler as { now?: unknown }).now !== 'function')
  ) {
    throw new TypeError(
      `${where}: instrument.scheduler must be an RxJS SchedulerLike, got ${describe(scheduler)}`,
    );
  }
  return new Probe<T>(
    scheduler ?? clock,
    // bound: a hook may be a method of the object given (a `poolMetrics()`, a class of one's own)
    checkFunction<(job: T) => void>(where, 'instrument.onQueued', hooks.onQueued, true)?.bind(
      hooks,
    ),
    checkFunction<(e: JobStart<T>) => void>(where, 'instrument.onStart', hooks.onStart, true)?.bind(
      hooks,
    ),
    checkFunction<(e: JobEnd<T>) => void>(where, 'instrument.onEnd', hooks.onEnd, true)?.bind(
      hooks,
    ),
  );
}

/**
 * The operators' side of an `Instrumentation`: keeps the jobs waiting (oldest first) with their
 * arrival times, stamps starts and ends on the clock, and calls the hooks. A hook that throws
 * is reported as an unhandled error and never disturbs the operator.
 */
export class Probe<T> {
  private readonly waiting: Array<Arrival<T>> = [];
  private head = 0;

  constructor(
    private readonly clock: SchedulerLike,
    private readonly onQueued: Instrumentation<T>['onQueued'],
    private readonly onStart: Instrumentation<T>['onStart'],
    private readonly onEnd: Instrumentation<T>['onEnd'],
  ) {}

  /** A probe over the same hooks with no job waiting: one per subscription of an operator. */
  fresh(): Probe<T> {
    return new Probe(this.clock, this.onQueued, this.onStart, this.onEnd);
  }

  /** The queue's config, with each discarded job reported (before the user's `onOverflow`). */
  watchOverflow(config: BufferConfig<T>): BufferConfig<T> {
    const user = config.onOverflow;
    return {
      ...config,
      onOverflow: (job, policy) => {
        this.discarded(policy);
        user?.(job, policy);
      },
    };
  }

  /** Jobs waiting now. */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /** A job arrived and waits for a worker. */
  queued(job: T): void {
    this.waiting.push({ job, at: this.clock.now() });
    if (this.onQueued !== undefined) call(this.onQueued, job);
  }

  /** The oldest waiting job starts on `workerId` (arriving now if none waits). */
  start(job: T, workerId: number | undefined): StartedJob<T> {
    const now = this.clock.now();
    const arrival = this.size > 0 ? this.take(job) : undefined;
    if (arrival === undefined && this.onQueued !== undefined) call(this.onQueued, job);
    const started = new StartedJob(job, arrival === undefined ? 0 : now - arrival.at, now);
    if (this.onStart !== undefined) {
      call(this.onStart, { job, workerId, waitedMs: started.waitedMs });
    }
    return started;
  }

  /** A started job ended; a second end of the same job is ignored. */
  end(started: StartedJob<T>, outcome: JobOutcome): void {
    if (started.ended) return;
    started.ended = true;
    if (this.onEnd === undefined) return;
    const ranMs = this.clock.now() - started.startedAt;
    call(this.onEnd, { job: started.job, outcome, waitedMs: started.waitedMs, ranMs });
  }

  /** An overflow policy discarded a waiting job: the newest (`'drop'`) or the oldest (`'replace'`). */
  discarded(policy: 'drop' | 'replace'): void {
    if (this.size === 0) return;
    const arrival = policy === 'drop' ? this.waiting.pop() : this.shift();
    if (arrival !== undefined) this.dropped(arrival);
  }

  /** The subscription ended: every job still waiting is dropped. */
  dropAll(): void {
    while (this.size > 0) this.dropped(this.shift()!);
  }

  private dropped(arrival: Arrival<T>): void {
    if (this.onEnd === undefined) return;
    const waitedMs = this.clock.now() - arrival.at;
    call(this.onEnd, { job: arrival.job, outcome: 'dropped', waitedMs, ranMs: 0 });
  }

  /**
   * The arrival of `job`: the oldest waiting one, unless jobs start out of arrival order (a
   * keyed pool starts a job of a free key before an older one of a busy key): then the oldest
   * arrival of that same job.
   */
  private take(job: T): Arrival<T> | undefined {
    if (this.waiting[this.head]!.job === job) return this.shift();
    for (let i = this.head + 1; i < this.waiting.length; i++) {
      if (this.waiting[i]!.job === job) return this.waiting.splice(i, 1)[0];
    }
    return undefined;
  }

  private shift(): Arrival<T> | undefined {
    const arrival = this.waiting[this.head];
    this.waiting[this.head++] = undefined as unknown as Arrival<T>;
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    return arrival;
  }
}

function call<E>(hook: (event: E) => void, event: E): void {
  try {
    hook(event);
  } catch (error) {
    reportUnhandledError(error);
  }
}

/** A push source whose every job is recorded as queued as it arrives. */
export function withArrivals<T>(source: Observable<T>, probe: Probe<T>): Observable<T> {
  return source.pipe(tap((job) => probe.queued(job)));
}
