import type { SchedulerLike } from 'rxjs';
import { KeyedLanes } from './keyedLanes.js';
import { monotonicScheduler } from './time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkScheduler,
  describe,
} from './validate.js';

/** The flow-control options of `workerPool`, as given. */
export interface PoolFlowOptions<T> {
  readonly key?: (job: T) => unknown;
  readonly perKey?: number;
  readonly timeout?: number;
  readonly scheduler?: SchedulerLike;
}

/** The flow-control options of `workerPool`, checked. */
export interface PoolFlow<T> {
  /** The key of a job, or undefined when jobs have no key. */
  readonly keyOf: ((job: T) => unknown) | undefined;
  /**
   * Holds jobs that may not start yet: behind their key, or while the pool is paused. Absent
   * when neither can happen (no key, a fixed concurrency), so the plain pool pays nothing.
   */
  readonly makeLanes: (() => KeyedLanes<T>) | undefined;
  /** Per-job time limit in milliseconds, or undefined for none. */
  readonly timeout: number | undefined;
  readonly scheduler: SchedulerLike;
}

/** Checks `key`, `perKey`, `timeout` and `scheduler`, naming the one that is wrong. */
export function poolFlow<T>(
  where: string,
  opts: PoolFlowOptions<T>,
  pausable: boolean,
): PoolFlow<T> {
  const keyOf = checkFunction<(job: T) => unknown>(where, 'key', opts.key, true);
  let perKey = 1;
  if (opts.perKey !== undefined) {
    if (keyOf === undefined) {
      throw new TypeError(
        `${where}: perKey needs a key function (key) to group jobs by, got perKey ${describe(opts.perKey)} and no key`,
      );
    }
    perKey = checkCapacity(where, 'perKey', opts.perKey);
  }
  const timeout =
    opts.timeout === undefined ? undefined : checkDuration(where, 'timeout', opts.timeout, true);
  if (timeout === 0) {
    throw new RangeError(`${where}: timeout must be a number of milliseconds > 0, got 0`);
  }
  const scheduler = checkScheduler<SchedulerLike>(where, opts.scheduler) ?? monotonicScheduler;
  let makeLanes: (() => KeyedLanes<T>) | undefined;
  if (keyOf !== undefined) makeLanes = () => new KeyedLanes<T>(perKey);
  else if (pausable) makeLanes = () => new KeyedLanes<T>(Number.POSITIVE_INFINITY);
  return {
    keyOf,
    makeLanes,
    timeout: timeout === Number.POSITIVE_INFINITY ? undefined : timeout,
    scheduler,
  };
}

/** Checks a value of an Observable `concurrency`: 0 pauses, so it is allowed there. */
export function checkLiveLimit(where: string, value: unknown): number {
  if (value === 0 || value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    const kind = typeof value === 'number' ? RangeError : TypeError;
    throw new kind(
      `${where}: concurrency from its Observable must be a whole number >= 0 (0 pauses) or Infinity, got ${describe(value)}`,
    );
  }
  return value;
}
