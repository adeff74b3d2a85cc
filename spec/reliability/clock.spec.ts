import { lastValueFrom, of, Subject, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { atLeastOnce, dedupe, MessageQueue } from '../../src/index.js';
import { monotonicScheduler } from '../../src/internal/time/monotonicScheduler.js';
import { flush, track } from '../support/promises.js';

/**
 * The default clock of every lease, window, delay, wait and grace is monotonic: moving the wall
 * clock (NTP step, manual change) by an hour either way changes nothing observable. Fake timers
 * move `Date.now()` with `setSystemTime` and everything else with `advanceTimersByTime`.
 */
const HOUR = 3_600_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function jump(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

describe.each([
  ['forward', HOUR],
  ['back', -HOUR],
])('a wall-clock jump %s by an hour', (_, by) => {
  it('leaves a lease running for exactly its visibility timeout', async () => {
    const queue = new MessageQueue<string>({ visibilityTimeout: 1_000 });
    queue.enqueue('job');
    const first = queue.dequeue()!;
    jump(by);
    vi.advanceTimersByTime(999);
    expect(queue.dequeue()).toBeUndefined(); // still leased
    expect(queue.extend(first.receipt, 1_000).ok).toBe(true);
    vi.advanceTimersByTime(1_000);
    const again = queue.dequeue();
    expect(again?.attempt).toBe(2); // expired after its timeout, no earlier, no later
    expect(queue.ack(first.receipt).ok).toBe(false); // the first lease is over
    await queue.close({ grace: 0 });
  });

  it('keeps the deduplication window its length', async () => {
    const queue = new MessageQueue<string>({ dedupWindow: 10_000 });
    queue.enqueue('a', { id: 'A' });
    queue.ack(queue.dequeue()!.receipt);
    jump(by);
    vi.advanceTimersByTime(9_999);
    expect(queue.enqueue('a', { id: 'A' })).toMatchObject({ ok: false, reason: 'duplicate' });
    vi.advanceTimersByTime(1);
    expect(queue.enqueue('a', { id: 'A' }).ok).toBe(true);
    await queue.close({ grace: 0 });
  });

  it('keeps a delayed message hidden for its delay', async () => {
    const queue = new MessageQueue<string>();
    queue.enqueue('later', { delay: 5_000 });
    jump(by);
    vi.advanceTimersByTime(4_999);
    expect(queue.dequeue()).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(queue.dequeue()?.payload).toBe('later');
    await queue.close({ grace: 0 });
  });

  it('ends a receive({ wait }) and a close({ grace }) on time', async () => {
    const queue = new MessageQueue<string>();
    const polled = track(queue.receive({ wait: 2_000 }));
    jump(by);
    vi.advanceTimersByTime(1_999);
    await flush();
    expect(polled.status).toBe('pending');
    vi.advanceTimersByTime(1);
    await flush();
    expect(polled).toMatchObject({ status: 'resolved', value: [] });

    queue.enqueue('held');
    queue.dequeue();
    const closed = track(queue.close({ grace: 3_000 }));
    jump(by);
    vi.advanceTimersByTime(2_999);
    await flush();
    expect(closed.status).toBe('pending');
    vi.advanceTimersByTime(1);
    await flush();
    expect(closed).toMatchObject({ status: 'resolved', value: { released: 1 } });
  });

  it('keeps dedupe TTLs their length', async () => {
    const seen: string[] = [];
    const input = new Subject<string>();
    const sub = input.pipe(dedupe<string>({ ttl: 1_000 })).subscribe((v) => seen.push(v));
    input.next('x');
    jump(by);
    vi.advanceTimersByTime(999);
    input.next('x');
    vi.advanceTimersByTime(1);
    input.next('x');
    sub.unsubscribe();
    expect(seen).toEqual(['x', 'x']);
  });

  it('keeps an atLeastOnce ack timeout its length', async () => {
    let calls = 0;
    const out = lastValueFrom(
      of('m').pipe(
        atLeastOnce(
          () => {
            calls++;
            return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('ok');
          },
          { ackTimeout: 1_000, maxAttempts: 2, backoff: 0 },
        ),
        toArray(),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    jump(by);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(10); // the deadline, then the retry after a backoff of 0
    expect(calls).toBe(2);
    expect(await out).toHaveLength(1);
  });
});

describe('the monotonic default clock under a busy machine', () => {
  it('a pause between its clock reads never turns it into the wall clock', () => {
    const realNow = Date.now;
    let wall = realNow();
    Date.now = () => {
      wall += 5; // every read 5 ms after the last: a GC pause or a busy core between reads
      return wall;
    };
    try {
      const now = monotonicScheduler.now();
      expect(now).toBeLessThan(1e12); // not a wall-clock time: leases would all expire at once
      expect(Math.abs(now - performance.now())).toBeLessThan(1000);
    } finally {
      Date.now = realNow;
    }
  });

  it('a queue whose clock reads are slow keeps every lease', () => {
    const realNow = Date.now;
    let calls = 0;
    Date.now = () => realNow() + (++calls % 2) * 3; // alternate reads 3 ms apart
    try {
      const queue = new MessageQueue<number>({ capacity: Number.POSITIVE_INFINITY });
      let refused = 0;
      let previous: string | undefined;
      for (let i = 0; i < 2000; i++) {
        queue.enqueue(i);
        const delivery = queue.dequeue();
        if (previous !== undefined && !queue.ack(previous).ok) refused++;
        previous = delivery?.receipt;
      }
      expect(refused).toBe(0);
      void queue.close();
    } finally {
      Date.now = realNow;
    }
  });
});
