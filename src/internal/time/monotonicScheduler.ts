import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * The default scheduler of every sluice timer and clock: RxJS's `asyncScheduler` for timers,
 * with `now()` read from `performance.now()` instead of `Date.now()`.
 *
 * `Date.now()` follows the wall clock, which NTP steps and manual changes move by seconds or
 * hours: an hour forward would expire every lease and deduplication window at once, an hour
 * back would hang every wait, grace and lease for an hour more. `performance.now()` only moves
 * forward, at the rate time passes. Its values are milliseconds since the process started, so
 * they mean nothing to another process: times sluice reports on this clock (a delivery's
 * `deadline`) are for comparing with `scheduler.now()`, not with `Date.now()`.
 *
 * An injected scheduler (a `TestScheduler`, a manual clock) replaces this one entirely. Inside
 * `TestScheduler.run()`, which makes `asyncScheduler` virtual without anything being injected,
 * this clock follows it: `asyncScheduler.now()` then no longer reads `Date.now()`.
 */
/** 2001-09-09 in ms since 1970: a time no virtual clock reaches and every wall clock passed. */
const WALL_CLOCK_FLOOR = 1e12;

export const monotonicScheduler: SchedulerLike = {
  now(): number {
    // asyncScheduler.now() is Date.now() unless TestScheduler.run() delegated it to virtual
    // time, which counts frames from zero and never comes near a wall-clock time. One read
    // decides: comparing two clock reads instead mistook a pause between them (a GC, a busy
    // core) for virtual time and returned the wall clock.
    const scheduled = asyncScheduler.now();
    return scheduled < WALL_CLOCK_FLOOR ? scheduled : performance.now();
  },
  schedule<S>(
    work: (this: SchedulerAction<S>, state?: S) => void,
    delay?: number,
    state?: S,
  ): Subscription {
    return asyncScheduler.schedule(work, delay, state);
  },
};
