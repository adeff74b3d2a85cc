import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { clampDelay, DeadlineTimer, MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';

describe('DeadlineTimer', () => {
  const setup = () => {
    const scheduler = new TestScheduler(() => {});
    scheduler.maxFrames = Number.POSITIVE_INFINITY;
    const fired: number[] = [];
    const timer = new DeadlineTimer(scheduler, () => fired.push(scheduler.now()));
    return { scheduler, fired, timer };
  };

  it('fires once at the earliest armed deadline', () => {
    const { scheduler, fired, timer } = setup();
    timer.arm(50, 0);
    timer.arm(20, 0); // earlier: re-armed
    timer.arm(80, 0); // later: left alone
    expect(timer.firesAt).toBe(20);
    scheduler.flush();
    expect(fired).toEqual([20]);
    expect(timer.firesAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('cancel and an Infinity deadline leave no timer behind', () => {
    const { scheduler, fired, timer } = setup();
    timer.arm(10, 0);
    timer.cancel();
    timer.arm(Number.POSITIVE_INFINITY, 0);
    scheduler.flush();
    expect(fired).toEqual([]);
  });

  it('clamps deadlines a timer cannot wait for', () => {
    const { scheduler, fired, timer } = setup();
    timer.arm(MAX_TIMER_DELAY * 3, 0);
    expect(timer.firesAt).toBe(MAX_TIMER_DELAY);
    scheduler.flush();
    expect(fired).toEqual([MAX_TIMER_DELAY]); // the owner re-arms for the rest
    expect(clampDelay(-5)).toBe(0);
    expect(clampDelay(7)).toBe(7);
  });
});
