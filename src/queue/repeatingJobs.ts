/**
 * Repeating jobs (`schedule(id, payload, { every })`) for any queue with deduplicated ids.
 *
 * Ticks fall on whole multiples of `every` on a clock the processes of a shared queue agree
 * on, and tick `k` enqueues with the id `<id>@<k>`. Every process that runs the same schedule
 * enqueues the same ids, and the queue's deduplication keeps one of each: no tick is
 * enqueued twice, with no coordination beyond the queue itself. At a tick the label is the
 * clock rounded to the nearest multiple, so processes whose clocks differ by less than half of
 * `every` name a tick alike. Missed ticks (a stalled process, a stopped fleet) are not made up.
 * @module
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { checkFunction, checkOptions, describe, optionNames } from '../internal/validate.js';
import type { EnqueueOptions, EnqueueResult, ScheduleOptions } from './types.js';

const SCHEDULE_OPTIONS = optionNames<ScheduleOptions>()({ every: 1, onTick: 1, onError: 1 });

/** What a queue lends its schedules. */
export interface RepeatingJobsHost<T> {
  /** The queue's name for error messages, e.g. `MessageQueue`. */
  readonly name: string;
  /** Timers. */
  readonly scheduler: SchedulerLike;
  /** The clock that numbers ticks; shared queues use one all their processes agree on. */
  now(): number;
  /** The queue's deduplication window (ms); schedules need one. */
  readonly dedupWindow: number;
  enqueue(payload: T, options: EnqueueOptions): EnqueueResult | PromiseLike<EnqueueResult>;
}

interface Entry<T> {
  readonly payload: T;
  readonly every: number;
  readonly onTick: ((result: EnqueueResult) => void) | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
  timer: Subscription | undefined;
}

/** A queue's repeating jobs, by id: one timer each, on the queue's scheduler. */
export class RepeatingJobs<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private closed = false;

  constructor(private readonly host: RepeatingJobsHost<T>) {}

  /** The ids of the running schedules. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  set(id: unknown, payload: T, options: ScheduleOptions): void {
    const where = `${this.host.name}.schedule`;
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`${where}: id must be a non-empty string, got ${describe(id)}`);
    }
    const opts = checkOptions<ScheduleOptions>(where, options, SCHEDULE_OPTIONS);
    const every = opts.every;
    if (typeof every !== 'number' || !Number.isFinite(every) || every <= 0) {
      const kind = typeof every === 'number' ? RangeError : TypeError;
      throw new kind(
        `${where}: every must be a finite number of milliseconds > 0, got ${describe(every)}`,
      );
    }
    if (!(this.host.dedupWindow > 0)) {
      throw new RangeError(
        `${where}: a schedule needs the queue's deduplication window (dedupWindow > 0), which keeps each tick enqueued once; this queue has dedupWindow ${this.host.dedupWindow}`,
      );
    }
    if (this.closed) throw new RangeError(`${where}: the queue is closed`);
    const entry: Entry<T> = {
      payload,
      every,
      onTick: checkFunction<(result: EnqueueResult) => void>(where, 'onTick', opts.onTick, true),
      onError: checkFunction<(error: unknown) => void>(where, 'onError', opts.onError, true),
      timer: undefined,
    };
    this.delete(id);
    this.entries.set(id, entry);
    this.arm(id, entry);
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    entry.timer?.unsubscribe();
    this.entries.delete(id);
    return true;
  }

  /** Stops every schedule; later `set` calls throw. */
  close(): void {
    this.closed = true;
    for (const id of this.ids()) this.delete(id);
  }

  private arm(id: string, entry: Entry<T>): void {
    const now = this.host.now();
    const next = (Math.floor(now / entry.every) + 1) * entry.every;
    entry.timer = this.host.scheduler.schedule(() => this.tick(id, entry), next - now);
  }

  private tick(id: string, entry: Entry<T>): void {
    if (this.entries.get(id) !== entry) return;
    const label = Math.round(this.host.now() / entry.every);
    this.arm(id, entry);
    let result: EnqueueResult | PromiseLike<EnqueueResult>;
    try {
      result = this.host.enqueue(entry.payload, { id: `${id}@${label}` });
    } catch (error) {
      this.fail(entry, error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (r) => this.report(entry, r),
        (error: unknown) => this.fail(entry, error),
      );
    } else this.report(entry, result);
  }

  private report(entry: Entry<T>, result: EnqueueResult): void {
    if (entry.onTick === undefined) return;
    try {
      entry.onTick(result);
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  private fail(entry: Entry<T>, error: unknown): void {
    if (entry.onError === undefined) {
      reportUnhandledError(error);
      return;
    }
    try {
      entry.onError(error);
    } catch (thrown) {
      reportUnhandledError(thrown);
    }
  }
}

function isPromiseLike<V>(value: V | PromiseLike<V>): value is PromiseLike<V> {
  return typeof (value as PromiseLike<V>)?.then === 'function';
}
