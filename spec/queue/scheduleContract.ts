/**
 * Repeating jobs (`schedule` / `unschedule`) on every store, on the store's manual clock:
 * `describeSchedules(name, open)` runs on `MessageQueue` (scheduleContract.spec.ts) and on
 * `RedisQueue` (spec/redis/scheduleContract.spec.ts). Each tick's result is awaited through
 * `onTick`, so the in-memory store and the remote one are driven alike; nothing sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStore } from '../../src/queue/store.js';
import type { EnqueueResult, ScheduleOptions } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';
import type { ContractOptions, OpenStore, StoreHarness } from './storeContract.js';

/** What `MessageQueue` and `RedisQueue` add to `QueueStore` for repeating jobs. */
interface Schedules {
  schedule(id: string, payload: string, options: ScheduleOptions): void;
  unschedule(id: string): boolean;
}
type ScheduledStore = QueueStore<string> & Schedules;

/** Collects tick results and lets a test await the next `n` of them. */
class Ticks {
  readonly results: EnqueueResult[] = [];
  private waiting: Array<{ count: number; resolve: () => void }> = [];
  readonly onTick = (result: EnqueueResult): void => {
    this.results.push(result);
    this.waiting = this.waiting.filter((w) => {
      if (this.results.length < w.count) return true;
      w.resolve();
      return false;
    });
  };
  until(count: number): Promise<void> {
    if (this.results.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ count, resolve }));
  }
}

async function ids(store: QueueStore<string>): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await store.receive({ max: 100 });
    if (batch.length === 0) return out;
    for (const delivery of batch) {
      out.push(`${delivery.id}=${delivery.payload}`);
      await store.ack(delivery.receipt);
    }
  }
}

export function describeSchedules(name: string, open: OpenStore): void {
  describe(`repeating jobs: ${name}`, () => {
    let harnesses: StoreHarness[] = [];
    afterEach(async () => {
      for (const harness of harnesses) await harness.dispose();
      harnesses = [];
    });

    async function setup(options: ContractOptions = {}) {
      const clock = new ManualClock();
      const harness = await open(clock, { visibilityTimeout: 100, ...options });
      harnesses.push(harness);
      return { clock, harness, store: harness.store as ScheduledStore };
    }

    it('enqueues one message per tick, on multiples of every, with the id <id>@<tick>, until unschedule', async () => {
      const { clock, store } = await setup();
      const ticks = new Ticks();
      clock.advance(250);
      store.schedule('report', 'r', { every: 1000, onTick: ticks.onTick });
      clock.advance(749);
      expect(ticks.results).toEqual([]);
      clock.advance(1);
      await ticks.until(1);
      clock.advance(2000);
      await ticks.until(3);
      expect(ticks.results).toEqual([
        { ok: true, id: 'report@1' },
        { ok: true, id: 'report@2' },
        { ok: true, id: 'report@3' },
      ]);
      expect(store.unschedule('report')).toBe(true);
      expect(store.unschedule('report')).toBe(false);
      clock.advance(5000);
      expect(await ids(store)).toEqual(['report@1=r', 'report@2=r', 'report@3=r']);
      expect(ticks.results).toHaveLength(3);
    });

    it('scheduling the same id again replaces the schedule: its payload and period, never both', async () => {
      const { clock, store } = await setup();
      const first = new Ticks();
      const second = new Ticks();
      store.schedule('sync', 'old', { every: 1000, onTick: first.onTick });
      clock.advance(1000);
      await first.until(1);
      store.schedule('sync', 'new', { every: 500, onTick: second.onTick });
      clock.advance(1000);
      await second.until(2);
      expect(first.results).toHaveLength(1);
      expect(await ids(store)).toEqual(['sync@1=old', 'sync@3=new', 'sync@4=new']);
    });

    it('two handles running the same schedule enqueue each tick once (the second sees a duplicate)', async () => {
      const { clock, harness, store } = await setup();
      const peer = (await harness.peer()) as ScheduledStore;
      const mine = new Ticks();
      const theirs = new Ticks();
      const shared = peer !== store;
      store.schedule('tick', 'x', { every: 100, onTick: mine.onTick });
      if (shared) peer.schedule('tick', 'x', { every: 100, onTick: theirs.onTick });
      for (let i = 1; i <= 5; i++) {
        clock.advance(100);
        await mine.until(i);
        if (shared) await theirs.until(i);
      }
      expect(await ids(store)).toEqual([
        'tick@1=x',
        'tick@2=x',
        'tick@3=x',
        'tick@4=x',
        'tick@5=x',
      ]);
      if (shared) {
        const all = [...mine.results, ...theirs.results];
        expect(all.filter((r) => r.ok)).toHaveLength(5);
        expect(all.filter((r) => !r.ok && r.reason === 'duplicate')).toHaveLength(5);
      }
    });

    it('close() stops every schedule, and schedule() after close() throws', async () => {
      const { clock, store } = await setup();
      const ticks = new Ticks();
      store.schedule('a', 'a', { every: 10, onTick: ticks.onTick });
      await store.close();
      clock.advance(100);
      expect(ticks.results).toEqual([]);
      expect(() => store.schedule('a', 'a', { every: 10 })).toThrow(/closed/);
    });

    it('needs the deduplication window that keeps each tick once', async () => {
      const { store } = await setup({ dedupWindow: 0 });
      expect(() => store.schedule('a', 'p', { every: 10 })).toThrow(/dedupWindow > 0/);
    });

    it('refuses bad input at the call, naming the argument', async () => {
      const { store } = await setup();
      expect(() => store.schedule('', 'p', { every: 10 })).toThrow(
        /schedule: id must be a non-empty string, got ""/,
      );
      expect(() => store.schedule('a', 'p', { every: 0 })).toThrow(
        /every must be a finite number of milliseconds > 0, got 0/,
      );
      expect(() => store.schedule('a', 'p', { every: Number.POSITIVE_INFINITY })).toThrow(
        RangeError,
      );
      expect(() => store.schedule('a', 'p', {} as ScheduleOptions)).toThrow(
        /every must be .* got undefined/,
      );
      expect(() =>
        store.schedule('a', 'p', { every: 10, evry: 5 } as unknown as ScheduleOptions),
      ).toThrow(/unknown option "evry" \(did you mean "every"\?\)/);
      expect(() =>
        store.schedule('a', 'p', { every: 10, onTick: 3 } as unknown as ScheduleOptions),
      ).toThrow(/onTick must be a function/);
    });
  });
}
