import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { Heap } from '../../src/internal/heap.js';

interface Timer {
  readonly at: number;
  run(): void;
}

/**
 * A virtual clock for queue specs: `now()` moves only when the test calls `advance`/`advanceTo`,
 * and timers run then, in time order (ties in scheduling order). `delays` records every delay
 * asked for, so a test can check that none exceeds what real timers honour. Timers live in a
 * heap, so simulations with tens of thousands of pending timers stay fast.
 */
export class ManualClock implements SchedulerLike {
  time = 0;
  readonly delays: number[] = [];
  private readonly timers = new Heap<Timer>();
  private seq = 0;

  now(): number {
    return this.time;
  }

  schedule<S>(
    work: (this: SchedulerAction<S>, state?: S) => void,
    delay = 0,
    state?: S,
  ): Subscription {
    this.delays.push(delay);
    let handle = -1;
    const subscription = new Subscription(() => {
      if (handle >= 0) this.timers.remove(handle);
      handle = -1;
    });
    const timer: Timer = {
      at: this.time + delay,
      run: () => {
        handle = -1; // already popped
        work.call(subscription as unknown as SchedulerAction<S>, state);
        subscription.unsubscribe();
      },
    };
    handle = this.timers.push(timer, timer.at, this.seq++);
    return subscription;
  }

  /** Timers still armed. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time to `to`, running every timer due on the way, each at its own time. */
  advanceTo(to: number): void {
    for (;;) {
      const next = this.timers.peek();
      if (next === undefined || next.at > to) break;
      this.timers.pop();
      if (next.at > this.time) this.time = next.at;
      next.run();
    }
    if (to > this.time) this.time = to;
  }

  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  /** Runs timers until none is left (or `limit` is reached), returning the final time. */
  runAll(limit = Number.POSITIVE_INFINITY): number {
    while (this.timers.size > 0) {
      const next = this.timers.peek()!;
      if (next.at > limit) break;
      this.advanceTo(next.at);
    }
    return this.time;
  }
}
