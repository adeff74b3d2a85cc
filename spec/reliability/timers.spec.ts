import { from, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { atLeastOnce } from '../../src/index.js';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { ManualClock } from '../queue/manualClock.js';
import { flush } from '../support/promises.js';

/** Node fires a timer longer than 2^31-1 ms after 1 ms: every delay asked for must fit. */
describe('atLeastOnce timers longer than 2^31-1 ms', () => {
  it('backoff: 3e9 retries after 3e9 ms, never asking a timer for more than it honours', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const out = lastValueFrom(
      of('m').pipe(
        atLeastOnce(
          () => {
            calls++;
            return calls === 1 ? throwError(() => new Error('first fails')) : from(['ok']);
          },
          { backoff: 3e9, maxAttempts: 2, scheduler: clock },
        ),
        toArray(),
      ),
    );
    await flush();
    expect(calls).toBe(1);
    clock.advance(3e9 - 1);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    await flush();
    expect(calls).toBe(2);
    expect(await out).toHaveLength(1);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY);
  });

  it('ackTimeout: 3e9 times out after 3e9 ms with a few clamped wake-ups, not a 1 ms loop', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const out = lastValueFrom(
      of('m').pipe(
        atLeastOnce(
          () => {
            calls++;
            return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('ok');
          },
          { ackTimeout: 3e9, backoff: 0, maxAttempts: 2, scheduler: clock },
        ),
        toArray(),
      ),
    );
    await flush();
    clock.advance(3e9 - 1);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    await flush();
    clock.advance(0);
    await flush();
    expect(calls).toBe(2);
    expect(await out).toHaveLength(1);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    expect(clock.delays.length).toBeLessThan(10);
  });
});
