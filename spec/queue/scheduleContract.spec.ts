import { config } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ChannelFullError } from '../../src/errors.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { EnqueueResult } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';
import { describeSchedules } from './scheduleContract.js';

describeSchedules('MessageQueue (in memory)', (clock, options) => {
  const store = new MessageQueue<string>({ scheduler: clock, ...options });
  return { store, clock, peer: () => store, dispose: async () => void (await store.close()) };
});

describe('MessageQueue.schedule: failed ticks', () => {
  it('a tick refused by a full queue goes to onError, or to the unhandled-error path, and the schedule goes on', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock, capacity: 1, overflow: 'error' });
    const errors: unknown[] = [];
    const results: EnqueueResult[] = [];
    queue.schedule('a', 'x', {
      every: 10,
      onTick: (r) => results.push(r),
      onError: (e) => errors.push(e),
    });
    clock.advance(20);
    expect(results).toEqual([{ ok: true, id: 'a@1' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ChannelFullError);
    queue.dequeue();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (e) => unhandled.push(e);
    try {
      queue.schedule('b', 'y', { every: 10 });
      clock.advance(10); // the in-flight message still counts against capacity 1
      await Promise.resolve();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      expect(unhandled.length).toBeGreaterThan(0);
      expect(unhandled[0]).toBeInstanceOf(ChannelFullError);
    } finally {
      config.onUnhandledError = null;
      await queue.close();
    }
  });
});
