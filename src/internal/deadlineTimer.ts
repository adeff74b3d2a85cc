import type { SchedulerLike, Subscription } from 'rxjs';

/** The longest delay a Node timer honours; a longer one fires after 1 ms. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A delay in milliseconds made safe for a timer: never negative, never above `MAX_TIMER_DELAY`. */
export function clampDelay(ms: number): number {
  return ms <= 0 ? 0 : Math.min(ms, MAX_TIMER_DELAY);
}

/**
 * One timer armed through a scheduler for the earliest of many deadlines (the queue's lease
 * expiries, its delayed messages). `arm(deadline, now)` moves the timer earlier when needed and
 * leaves it alone when it already fires at or before `deadline`; a deadline further away than a
 * timer can wait is reached in clamped steps, `onFire` re-arming on each. `onFire` runs with the
 * timer already cleared, so it can arm the next deadline.
 */
export class DeadlineTimer {
  private timer: Subscription | undefined;
  /** When the armed timer fires, or Infinity when none is armed. */
  firesAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly onFire: () => void,
  ) {}

  /** Makes sure the timer fires no later than `deadline` (Infinity: no deadline, cancel). */
  arm(deadline: number, now: number): void {
    if (deadline === Number.POSITIVE_INFINITY) {
      this.cancel();
      return;
    }
    if (this.timer !== undefined && this.firesAt <= deadline) return;
    this.cancel();
    const delay = clampDelay(deadline - now);
    this.firesAt = now + delay;
    this.timer = this.scheduler.schedule(this.fire, delay);
  }

  cancel(): void {
    if (this.timer === undefined) return;
    this.timer.unsubscribe();
    this.timer = undefined;
    this.firesAt = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.firesAt = Number.POSITIVE_INFINITY;
    this.onFire();
  };
}

/** A pending `scheduleAt`: cancel it to stop `work` from running. */
export interface Scheduled {
  cancel(): void;
}

/**
 * Runs `work` once the scheduler's clock reaches `until`. A delay longer than a timer can wait
 * is reached in clamped steps: a step that fires early re-arms for the rest.
 */
export function scheduleAt(scheduler: SchedulerLike, until: number, work: () => void): Scheduled {
  return new ScheduledAt(scheduler, until, work);
}

/** `scheduleAt`'s timer: a class, not closures, since consumers make one per delivery. */
class ScheduledAt implements Scheduled {
  private timer: Subscription | undefined = undefined;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly until: number,
    private readonly work: () => void,
  ) {
    this.arm(scheduler.now());
  }

  cancel(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private arm(now: number): void {
    this.timer = this.scheduler.schedule(this.fire, clampDelay(this.until - now), this);
  }

  /** Runs as the scheduled action, with this timer as its state. */
  private fire(this: unknown, self?: ScheduledAt): void {
    const timer = self!;
    const t = timer.scheduler.now();
    if (t < timer.until) timer.arm(t);
    else {
      timer.timer = undefined;
      timer.work();
    }
  }
}
