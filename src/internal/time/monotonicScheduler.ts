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
export const monotonicScheduler: SchedulerLike = {
  now(): number {
    const async = asyncScheduler.now();
    // Equal to Date.now() (give or take the millisecond ticking between the two reads) unless
    // TestScheduler.run() delegated it to virtual time.
    const wall = Date.now();
    return async - wall <= 1 && wall - async <= 1 ? performance.now() : async;
  },
  schedule<S>(
    work: (this: SchedulerAction<S>, state?: S) => void,
    delay?: number,
    state?: S,
  ): Subscription {
    return asyncScheduler.schedule(work, delay, state);
  },
};
