import { asyncScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelClosedError, ChannelFullError } from '../../src/errors.js';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { Delivery, MessageQueueOptions, QueueDeadLetter } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';

function setup<T = string>(options: MessageQueueOptions<T> = {}) {
  const clock = new ManualClock();
  const queue = new MessageQueue<T>({ visibilityTimeout: 100, scheduler: clock, ...options });
  return { clock, queue };
}

function take<T>(queue: MessageQueue<T>): Delivery<T> {
  const delivery = queue.dequeue();
  if (delivery === undefined) throw new Error('expected a visible message');
  return delivery;
}

/** Lets promise callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('MessageQueue: delivery and ordering', () => {
  it('delivers first in, first out, with id, payload, attempt, receipt and deadline', () => {
    const { clock, queue } = setup();
    queue.enqueue('a', { id: 'A' });
    queue.enqueue('b', { id: 'B' });
    clock.advance(5);
    const first = take(queue);
    expect(first).toMatchObject({ id: 'A', payload: 'a', attempt: 1, deadline: 105 });
    expect(typeof first.receipt).toBe('string');
    expect(take(queue).id).toBe('B');
    expect(queue.dequeue()).toBeUndefined();
  });

  it('generates distinct ids when none is given', () => {
    const { queue } = setup();
    const a = queue.enqueue('x');
    const b = queue.enqueue('x');
    expect(a.ok && b.ok).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(queue.stats().visible).toBe(2);
  });

  it('keeps payloads by reference, never copying them', () => {
    const { queue } = setup<{ big: number[] }>();
    const payload = { big: new Array(100_000).fill(7) };
    queue.enqueue(payload);
    expect(take(queue).payload).toBe(payload);
  });

  it('puts a redelivered message behind those already visible', () => {
    const { clock, queue } = setup();
    queue.enqueue('a');
    const a = take(queue);
    queue.enqueue('b');
    queue.enqueue('c');
    expect(queue.nack(a.receipt).ok).toBe(true);
    queue.enqueue('d');
    clock.advance(1);
    const order = [take(queue), take(queue), take(queue), take(queue)].map((d) => d.payload);
    expect(order).toEqual(['b', 'c', 'a', 'd']);
  });

  it('redelivers after the visibility timeout counted from the delivery, not the enqueue', () => {
    const { clock, queue } = setup();
    queue.enqueue('waited in the backlog');
    clock.advance(500); // far longer than the timeout, before any delivery
    const d = take(queue);
    expect(d.deadline).toBe(600);
    clock.advanceTo(599);
    expect(queue.dequeue()).toBeUndefined();
    expect(queue.ack(d.receipt)).toEqual({ ok: true });
  });
});

describe('MessageQueue: leases and receipts', () => {
  it('a crashed consumer: redelivered after the timeout, attempt 2, old receipt stale', () => {
    const { clock, queue } = setup();
    queue.enqueue('job', { id: 'j' });
    const crashed = take(queue); // consumer 1 takes it and dies
    clock.advanceTo(99);
    expect(queue.dequeue()).toBeUndefined();
    clock.advanceTo(100); // the expiry timer fires
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0, expired: 1 });
    const second = take(queue);
    expect(second).toMatchObject({ id: 'j', attempt: 2, deadline: 200 });
    expect(second.receipt).not.toBe(crashed.receipt);
    expect(queue.ack(crashed.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(queue.stats().inFlight).toBe(1); // the refused ack changed nothing
  });

  it('a late ack after redelivery is stale, and the second consumer ack succeeds', () => {
    const { clock, queue } = setup();
    queue.enqueue('job');
    const slow = take(queue);
    clock.advance(100);
    const fast = take(queue);
    expect(queue.ack(slow.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(queue.ack(fast.receipt)).toEqual({ ok: true });
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 1 });
  });

  it('a late ack before the expiry timer fired is expired, and the message is requeued', () => {
    // A scheduler whose timers never fire: only the clock at the call decides.
    const timersNeverFire = {
      time: 0,
      now() {
        return this.time;
      },
      schedule() {
        return { unsubscribe() {}, closed: false } as never;
      },
    };
    const queue = new MessageQueue<string>({
      visibilityTimeout: 100,
      scheduler: timersNeverFire,
    });
    queue.enqueue('job');
    const d = take(queue);
    timersNeverFire.time = 100; // the deadline, exactly
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'expired' });
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0, expired: 1, acked: 0 });
    // the same answer every time, and it stays refused
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'expired' });
    expect(take(queue).attempt).toBe(2);
  });

  it('the same race in virtual time: an ack in the frame of the deadline loses to the clock', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 10 }); // asyncScheduler, virtualized
      let result: unknown;
      queue.enqueue('job');
      const d = take(queue);
      // scheduled at frame 10, like the expiry timer; which runs first must not matter
      asyncScheduler.schedule(() => {
        result = queue.ack(d.receipt);
      }, 10);
      flush();
      expect(result).toEqual({ ok: false, reason: 'expired' });
      expect(queue.stats()).toMatchObject({ visible: 1, expired: 1 });
      void queue.close();
    });
  });

  it('extend keeps a slow consumer lease', () => {
    const { clock, queue } = setup();
    queue.enqueue('slow');
    const d = take(queue);
    clock.advanceTo(80);
    expect(queue.extend(d.receipt, 100)).toEqual({ ok: true, deadline: 180 });
    clock.advanceTo(150);
    expect(queue.dequeue()).toBeUndefined(); // still leased
    expect(queue.stats().expired).toBe(0);
    clock.advanceTo(179);
    expect(queue.ack(d.receipt)).toEqual({ ok: true });
  });

  it('extend can shorten a lease; extend(0) ends it as an expiry', () => {
    const { clock, queue } = setup();
    queue.enqueue('x');
    const d = take(queue);
    expect(queue.extend(d.receipt, 10)).toEqual({ ok: true, deadline: 10 });
    clock.advanceTo(10);
    expect(queue.stats()).toMatchObject({ visible: 1, expired: 1 });
    const again = take(queue);
    expect(queue.extend(again.receipt, 0)).toEqual({ ok: true, deadline: 10 });
    expect(queue.ack(again.receipt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a double ack is refused as already acknowledged', () => {
    const { queue } = setup();
    queue.enqueue('x');
    const d = take(queue);
    expect(queue.ack(d.receipt)).toEqual({ ok: true });
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'acked' });
    expect(queue.nack(d.receipt)).toEqual({ ok: false, reason: 'acked' });
    expect(queue.extend(d.receipt, 10)).toEqual({ ok: false, reason: 'acked' });
    expect(queue.stats().acked).toBe(1);
  });

  it('an unknown receipt is refused and changes nothing', () => {
    const { queue } = setup();
    const other = new MessageQueue<string>({ scheduler: new ManualClock() });
    other.enqueue('elsewhere', { id: 'same-id' });
    queue.enqueue('here', { id: 'same-id' });
    const foreign = take(other);
    const before = queue.stats();
    for (const receipt of [
      'garbage',
      '',
      '1:2',
      'x:y:same-id',
      '999999:1:same-id',
      foreign.receipt,
      42 as unknown as string,
      undefined as unknown as string,
    ]) {
      expect(queue.ack(receipt)).toEqual({ ok: false, reason: 'unknown' });
      expect(queue.nack(receipt)).toEqual({ ok: false, reason: 'unknown' });
      expect(queue.extend(receipt, 10)).toEqual({ ok: false, reason: 'unknown' });
      expect(queue.release(receipt)).toEqual({ ok: false, reason: 'unknown' });
    }
    expect(queue.stats()).toEqual(before);
    expect(take(queue).payload).toBe('here');
  });

  it('a receipt for a delivery that never happened is unknown', () => {
    const { queue } = setup();
    queue.enqueue('x', { id: 'x' });
    const d = take(queue);
    const [tag, n] = d.receipt.split(':');
    const [slot, seq] = tag!.split('.');
    expect(n).toBe('1');
    for (const forged of [
      `${tag}:2`, // a delivery that has not happened
      `${tag}:01`,
      `${tag}:0`,
      `${slot}.${Number(seq) + 1}:1`,
      `${tag}:1:extra`,
      `${slot}:1`,
    ]) {
      expect(queue.ack(forged)).toEqual({ ok: false, reason: 'unknown' });
    }
    expect(queue.ack(d.receipt)).toEqual({ ok: true });
  });

  it('a nacked or released receipt is refused as released', () => {
    const { queue } = setup();
    queue.enqueue('x');
    const d = take(queue);
    expect(queue.nack(d.receipt)).toEqual({ ok: true, deadLettered: false });
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'released' });
    expect(queue.nack(d.receipt)).toEqual({ ok: false, reason: 'released' });
    const again = take(queue);
    expect(queue.release(again.receipt)).toEqual({ ok: true });
    expect(queue.ack(again.receipt)).toEqual({ ok: false, reason: 'released' });
  });

  it('a receipt of an earlier message with the same id does not touch the new one', () => {
    const { clock, queue } = setup({ dedupWindow: 10 });
    queue.enqueue('old', { id: 'k' });
    const old = take(queue);
    queue.ack(old.receipt);
    clock.advance(10); // window over: the id may be used again
    expect(queue.enqueue('new', { id: 'k' }).ok).toBe(true);
    const fresh = take(queue);
    expect(fresh.attempt).toBe(1);
    expect(queue.ack(old.receipt)).toEqual({ ok: false, reason: 'unknown' });
    expect(queue.ack(fresh.receipt)).toEqual({ ok: true });
  });

  it('a nack with delay: hidden for the delay, then redelivered as the next attempt', () => {
    const { clock, queue } = setup();
    queue.enqueue('retry me');
    clock.advanceTo(10);
    const d = take(queue);
    expect(queue.nack(d.receipt, { delay: 50, error: new Error('busy') })).toEqual({
      ok: true,
      deadLettered: false,
    });
    expect(queue.stats()).toMatchObject({ delayed: 1, inFlight: 0, visible: 0, nacked: 1 });
    clock.advanceTo(59);
    expect(queue.dequeue()).toBeUndefined();
    clock.advanceTo(60);
    expect(queue.stats()).toMatchObject({ delayed: 0, visible: 1 });
    expect(take(queue).attempt).toBe(2);
  });

  it('enqueue with delay makes the message visible when due, in due order', () => {
    const { clock, queue } = setup();
    queue.enqueue('later', { delay: 30 });
    queue.enqueue('soon', { delay: 10 });
    queue.enqueue('same time as soon', { delay: 10 });
    queue.enqueue('now');
    expect(take(queue).payload).toBe('now');
    expect(queue.stats().delayed).toBe(3);
    clock.advanceTo(10);
    expect([take(queue).payload, take(queue).payload]).toEqual(['soon', 'same time as soon']);
    expect(queue.dequeue()).toBeUndefined();
    clock.advanceTo(30);
    expect(take(queue).payload).toBe('later');
  });

  it('release gives the lease back without counting the attempt', () => {
    const { queue } = setup({ maxAttempts: 1 });
    queue.enqueue('x');
    const d = take(queue);
    expect(queue.release(d.receipt)).toEqual({ ok: true });
    const again = take(queue);
    expect(again.attempt).toBe(1); // not counted
    expect(queue.stats()).toMatchObject({ released: 1, delivered: 2, dead: 0 });
  });

  it('visibility timeout 0: every delivery is over at once and the message is visible again', () => {
    const { clock, queue } = setup({ visibilityTimeout: 0, maxAttempts: 3 });
    queue.enqueue('hot potato');
    const first = take(queue);
    expect(first.deadline).toBe(0);
    expect(queue.ack(first.receipt)).toEqual({ ok: false, reason: 'expired' });
    const second = take(queue);
    expect(second.attempt).toBe(2);
    expect(take(queue).attempt).toBe(3);
    expect(queue.dequeue()).toBeUndefined(); // the third lease ran out on the last attempt
    expect(queue.deadLetters()).toMatchObject([{ attempts: 3, reason: 'expired' }]);
    clock.runAll();
    expect(clock.pending).toBe(0);
  });

  it('a visibility timeout above 2^31-1 ms: timers are clamped and re-armed', () => {
    const timeout = 2 ** 31 + 5_000;
    const { clock, queue } = setup({ visibilityTimeout: timeout });
    queue.enqueue('long');
    const d = take(queue);
    expect(d.deadline).toBe(timeout);
    expect(Math.max(...clock.delays)).toBe(MAX_TIMER_DELAY);
    clock.advanceTo(MAX_TIMER_DELAY); // the clamped timer fires early, finds nothing due
    expect(queue.stats()).toMatchObject({ inFlight: 1, expired: 0 });
    expect(clock.pending).toBe(1); // re-armed for the rest
    clock.advanceTo(timeout - 1);
    expect(queue.stats().inFlight).toBe(1);
    clock.advanceTo(timeout);
    expect(queue.stats()).toMatchObject({ inFlight: 0, visible: 1, expired: 1 });
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'expired' });
    for (const delay of clock.delays) expect(delay).toBeLessThanOrEqual(MAX_TIMER_DELAY);
  });

  it('with Node-like timers (faked: > 2^31-1 ms fires after 1 ms), a huge timeout does not spin', async () => {
    vi.useFakeTimers();
    const schedule = vi.spyOn(asyncScheduler, 'schedule');
    try {
      const queue = new MessageQueue<string>({ visibilityTimeout: 2 ** 31 + 10 });
      queue.enqueue('x');
      const d = take(queue);
      vi.advanceTimersByTime(1_000);
      expect(queue.stats()).toMatchObject({ inFlight: 1, expired: 0 });
      expect(schedule).toHaveBeenCalledTimes(1); // armed once, not re-armed every millisecond
      expect(queue.extend(d.receipt, 50)).toMatchObject({ ok: true });
      vi.advanceTimersByTime(50);
      expect(queue.stats()).toMatchObject({ inFlight: 0, expired: 1 });
      await queue.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      schedule.mockRestore();
      vi.useRealTimers();
    }
  });

  it('a visibility timeout of Infinity never expires and arms no timer', () => {
    const { clock, queue } = setup({ visibilityTimeout: Number.POSITIVE_INFINITY });
    queue.enqueue('x');
    const d = take(queue);
    expect(d.deadline).toBe(Number.POSITIVE_INFINITY);
    expect(clock.pending).toBe(0);
    clock.advance(1e12);
    expect(queue.ack(d.receipt)).toEqual({ ok: true });
  });

  it('one timer for the earliest deadline, not one per message', () => {
    const { clock, queue } = setup<number>();
    for (let i = 0; i < 1_000; i++) queue.enqueue(i);
    for (let i = 0; i < 1_000; i++) take(queue);
    expect(clock.pending).toBe(1);
    expect(clock.delays).toHaveLength(1);
    clock.advance(100);
    expect(queue.stats()).toMatchObject({ visible: 1_000, expired: 1_000 });
    expect(clock.pending).toBe(0);
  });

  it('cancels the lease timer once nothing is in flight', () => {
    const { clock, queue } = setup();
    queue.enqueue('x');
    const d = take(queue);
    expect(clock.pending).toBe(1);
    queue.ack(d.receipt);
    expect(clock.pending).toBe(0);
  });

  it('re-arms earlier when a shorter lease appears', () => {
    const { clock, queue } = setup();
    queue.enqueue('a');
    queue.enqueue('b');
    take(queue);
    const b = take(queue);
    queue.extend(b.receipt, 10);
    clock.advanceTo(10);
    expect(queue.stats()).toMatchObject({ inFlight: 1, visible: 1 });
  });
});

describe('MessageQueue: attempts and dead letters', () => {
  it('a poison message: exactly maxAttempts deliveries, then dead-lettered, and no more', () => {
    const { clock, queue } = setup({ maxAttempts: 3 });
    const letters: QueueDeadLetter<string>[] = [];
    queue.deadLettered.subscribe((letter) => letters.push(letter));
    queue.enqueue('poison', { id: 'p' });
    const attempts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = queue.dequeue();
      if (d) {
        attempts.push(d.attempt);
        const result = queue.nack(d.receipt, { error: new Error(`fail ${d.attempt}`) });
        expect(result).toEqual({ ok: true, deadLettered: d.attempt === 3 });
      }
      clock.advance(1);
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ id: 'p', payload: 'poison', attempts: 3, reason: 'nacked' });
    expect((letters[0]!.lastError as Error).message).toBe('fail 3');
    expect(queue.deadLetters()).toEqual(letters);
    expect(queue.stats()).toMatchObject({ dead: 1, deadLettered: 1, visible: 0, inFlight: 0 });
  });

  it('a crashing poison message: expiries count, dead after maxAttempts with reason expired', () => {
    const { clock, queue } = setup({ maxAttempts: 2 });
    queue.enqueue('crashes the consumer', { id: 'c' });
    const d1 = take(queue);
    queue.nack(d1.receipt, { error: 'first failure' });
    take(queue); // crashes
    clock.advance(100);
    expect(queue.dequeue()).toBeUndefined();
    expect(queue.deadLetters()).toMatchObject([
      { id: 'c', attempts: 2, reason: 'expired', lastError: 'first failure', deadAt: 100 },
    ]);
  });

  it('a dead letter redriven goes back with attempts reset and can be processed', () => {
    const { queue } = setup({ maxAttempts: 1 });
    queue.enqueue('a', { id: 'a' });
    queue.enqueue('b', { id: 'b' });
    queue.nack(take(queue).receipt);
    const b = take(queue);
    queue.nack(b.receipt);
    expect(queue.deadLetters().map((l) => l.id)).toEqual(['a', 'b']);
    queue.enqueue('c', { id: 'c' });
    expect(queue.redrive(['b', 'zzz'])).toEqual({
      redriven: ['b'],
      skipped: [{ id: 'zzz', reason: 'missing' }],
    });
    expect(queue.stats()).toMatchObject({ dead: 1, visible: 2, redriven: 1 });
    const c = take(queue);
    const again = take(queue);
    expect([c.id, again.id, again.attempt]).toEqual(['c', 'b', 1]);
    expect(queue.ack(b.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(queue.ack(again.receipt)).toEqual({ ok: true });
    expect(queue.redrive()).toEqual({ redriven: ['a'], skipped: [] });
    expect(queue.deadLetters()).toEqual([]);
  });

  it('redrive skips an id that is live again, and stops at capacity', () => {
    const { clock, queue } = setup({ maxAttempts: 1, dedupWindow: 0, capacity: 2 });
    queue.enqueue('old', { id: 'x' });
    queue.nack(take(queue).receipt);
    clock.advance(1);
    queue.enqueue('new', { id: 'x' }); // window 0: allowed again
    expect(queue.redrive(['x'])).toEqual({ redriven: [], skipped: [{ id: 'x', reason: 'live' }] });
    queue.enqueue('y', { id: 'y' });
    queue.nack(take(queue).receipt); // x (new) dies too
    queue.enqueue('z', { id: 'z' });
    expect(queue.stats()).toMatchObject({ visible: 2, dead: 2 });
    expect(queue.redrive()).toEqual({
      redriven: [],
      skipped: [
        { id: 'x', reason: 'full' },
        { id: 'x', reason: 'full' },
      ],
    });
  });

  it('dead letters are bounded: the oldest is evicted and reported', () => {
    const evicted: string[] = [];
    const { queue } = setup({
      maxAttempts: 1,
      deadLetter: { capacity: 2, onEvict: (letter) => evicted.push(letter.id) },
    });
    for (const id of ['a', 'b', 'c']) {
      queue.enqueue(id, { id });
      queue.nack(take(queue).receipt);
    }
    expect(queue.deadLetters().map((l) => l.id)).toEqual(['b', 'c']);
    expect(evicted).toEqual(['a']);
    expect(queue.stats()).toMatchObject({ dead: 2, deadEvicted: 1, deadLettered: 3 });
  });

  it('purgeDeadLetters removes and returns them', () => {
    const { queue } = setup({ maxAttempts: 1 });
    for (const id of ['a', 'b']) {
      queue.enqueue(id, { id });
      queue.nack(take(queue).receipt);
    }
    expect(queue.purgeDeadLetters(['a']).map((l) => l.id)).toEqual(['a']);
    expect(queue.purgeDeadLetters().map((l) => l.id)).toEqual(['b']);
    expect(queue.stats().dead).toBe(0);
  });
});

describe('MessageQueue: deduplication', () => {
  it('refuses a duplicate id while queued, delayed or in flight', () => {
    const { queue } = setup();
    queue.enqueue('a', { id: 'a' });
    queue.enqueue('d', { id: 'd', delay: 50 });
    expect(queue.enqueue('again', { id: 'a' })).toEqual({
      ok: false,
      reason: 'duplicate',
      id: 'a',
    });
    expect(queue.enqueue('again', { id: 'd' })).toEqual({
      ok: false,
      reason: 'duplicate',
      id: 'd',
    });
    const a = take(queue);
    expect(queue.enqueue('again', { id: 'a' }).ok).toBe(false);
    expect(a.payload).toBe('a');
    expect(queue.stats()).toMatchObject({ duplicates: 3, enqueued: 2 });
  });

  it('refuses it after the ack within the window, and accepts it after the window', () => {
    const { clock, queue } = setup({ dedupWindow: 1_000 });
    clock.advanceTo(100);
    queue.enqueue('once', { id: 'k' });
    queue.ack(take(queue).receipt);
    clock.advanceTo(1_099);
    expect(queue.enqueue('twice', { id: 'k' })).toEqual({
      ok: false,
      reason: 'duplicate',
      id: 'k',
    });
    clock.advanceTo(1_100); // enqueued at 100 + window 1000
    expect(queue.enqueue('twice', { id: 'k' })).toEqual({ ok: true, id: 'k' });
  });

  it('a live message stays deduplicated after its window ends', () => {
    const { clock, queue } = setup({ dedupWindow: 10, visibilityTimeout: 1_000 });
    queue.enqueue('slow', { id: 's' });
    const d = take(queue);
    clock.advance(500);
    expect(queue.enqueue('dup', { id: 's' }).ok).toBe(false);
    queue.ack(d.receipt);
    expect(queue.enqueue('now fine', { id: 's' }).ok).toBe(true);
  });

  it('a generated id given back as an id is refused while its message is live', () => {
    const { queue } = setup();
    const first = queue.enqueue('x');
    expect(first.ok).toBe(true);
    const id = first.id!;
    expect(queue.enqueue('again', { id })).toEqual({ ok: false, reason: 'duplicate', id });
    const d = take(queue);
    expect(queue.enqueue('again', { id }).ok).toBe(false); // in flight
    queue.ack(d.receipt);
    expect(queue.enqueue('again', { id })).toEqual({ ok: true, id });
    expect(take(queue).id).toBe(id);
  });

  it('dedupWindow 0 deduplicates live messages only', () => {
    const { queue } = setup({ dedupWindow: 0 });
    queue.enqueue('a', { id: 'a' });
    expect(queue.enqueue('a', { id: 'a' }).ok).toBe(false);
    queue.ack(take(queue).receipt);
    expect(queue.enqueue('a', { id: 'a' }).ok).toBe(true);
  });
});

describe('MessageQueue: receive (long poll) and competing consumers', () => {
  it('answers at once when messages are visible, up to max', async () => {
    const { queue } = setup();
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    expect((await queue.receive({ max: 2 })).map((d) => d.payload)).toEqual(['a', 'b']);
    expect((await queue.receive({ max: 5 })).map((d) => d.payload)).toEqual(['c']);
    expect(await queue.receive()).toEqual([]);
  });

  it('a long poll is woken by enqueue', async () => {
    const { queue } = setup();
    let answer: Delivery<string>[] | undefined;
    void queue.receive({ wait: 1_000, max: 5 }).then((batch) => {
      answer = batch;
    });
    await settle();
    expect(answer).toBeUndefined();
    queue.enqueue('x');
    await settle();
    expect(answer?.map((d) => d.payload)).toEqual(['x']);
    expect(queue.stats().inFlight).toBe(1);
  });

  it('a long poll is woken by a redelivery', async () => {
    const { clock, queue } = setup();
    queue.enqueue('x');
    const crashed = take(queue);
    const polled = queue.receive({ wait: 1_000 });
    clock.advanceTo(100);
    const [d] = await polled;
    expect(d).toMatchObject({ id: crashed.id, attempt: 2 });
  });

  it('a long poll is woken by a delayed message coming due', async () => {
    const { clock, queue } = setup();
    queue.enqueue('later', { delay: 40 });
    const polled = queue.receive({ wait: 1_000 });
    clock.advanceTo(40);
    expect((await polled)[0]?.payload).toBe('later');
  });

  it('a long poll is ended by abort: rejects with the reason, leases nothing', async () => {
    const { clock, queue } = setup();
    const controller = new AbortController();
    const polled = queue.receive({ wait: 1_000, signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(polled).rejects.toThrow('stop');
    queue.enqueue('x');
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
    expect(clock.pending).toBe(0); // its timer is gone
    await expect(queue.receive({ signal: controller.signal })).rejects.toThrow('stop');
  });

  it('a long poll is ended by close: resolves empty', async () => {
    const { queue } = setup();
    const polled = queue.receive({ wait: Number.POSITIVE_INFINITY });
    await queue.close();
    expect(await polled).toEqual([]);
  });

  it('a long poll times out through the scheduler: resolves empty', async () => {
    const { clock, queue } = setup();
    let answer: Delivery<string>[] | undefined;
    void queue.receive({ wait: 300 }).then((batch) => {
      answer = batch;
    });
    clock.advanceTo(299);
    await settle();
    expect(answer).toBeUndefined();
    clock.advanceTo(300);
    await settle();
    expect(answer).toEqual([]);
    queue.enqueue('after');
    expect(queue.stats().visible).toBe(1); // nobody is waiting any more
  });

  it('competing receivers: exactly one gets each message, first come first served', async () => {
    const { queue } = setup();
    const polls = Array.from({ length: 4 }, () => queue.receive({ wait: 1_000, max: 3 }));
    for (let i = 0; i < 10; i++) queue.enqueue(`m${i}`);
    const direct = [queue.dequeue(), queue.dequeue()].filter((d) => d !== undefined);
    const batches = await Promise.all(polls);
    // first waiter got the first message alone (it answered as soon as one was visible)
    expect(batches.map((b) => b.length)).toEqual([1, 1, 1, 1]);
    const got = [...batches.flat(), ...direct].map((d) => d.payload);
    expect(got).toHaveLength(6);
    expect(new Set(got).size).toBe(6);
    expect(got.slice(0, 4)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(queue.stats()).toMatchObject({ inFlight: 6, visible: 4 });
  });

  it('a long poll takes what is visible when woken, up to max', async () => {
    const { clock, queue } = setup();
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    const leased = [take(queue), take(queue), take(queue)];
    const polled = queue.receive({ wait: 1_000, max: 2 });
    clock.advanceTo(100); // all three expire at once
    expect((await polled).map((d) => d.payload)).toEqual(['a', 'b']);
    expect(leased).toHaveLength(3);
    expect(queue.stats().visible).toBe(1);
  });

  it('rejects bad options', async () => {
    const { queue } = setup();
    await expect(queue.receive({ max: 0 })).rejects.toThrow(
      'MessageQueue.receive: max must be a whole number >= 1, got 0',
    );
    await expect(queue.receive({ wait: -1 })).rejects.toThrow(RangeError);
  });
});

describe('MessageQueue: capacity and overflow', () => {
  it('block: enqueue throws when full, send waits and is admitted when room frees', async () => {
    const { queue } = setup({ capacity: 1 });
    queue.enqueue('a');
    expect(() => queue.enqueue('b')).toThrow(ChannelFullError);
    try {
      queue.enqueue('b');
    } catch (error) {
      expect((error as ChannelFullError<string>).value).toBe('b');
    }
    let sent: unknown;
    void queue.send('b', { id: 'b' }).then((result) => {
      sent = result;
    });
    await settle();
    expect(sent).toBeUndefined();
    expect(() => queue.enqueue('c')).toThrow(ChannelFullError); // no jumping the line
    queue.ack(take(queue).receipt);
    await settle();
    expect(sent).toEqual({ ok: true, id: 'b' });
    expect(take(queue).payload).toBe('b');
  });

  it('in-flight messages count against capacity until they leave', async () => {
    const { clock, queue } = setup({ capacity: 1 });
    queue.enqueue('a');
    take(queue);
    const sent = queue.send('b');
    clock.advance(100); // expired: a is visible again, still counted
    await settle();
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
    const again = take(queue);
    queue.ack(again.receipt);
    await expect(sent).resolves.toMatchObject({ ok: true });
  });

  it('a waiting send is admitted when a message dies', async () => {
    const { queue } = setup({ capacity: 1, maxAttempts: 1 });
    queue.enqueue('a');
    const sent = queue.send('b');
    queue.nack(take(queue).receipt);
    await expect(sent).resolves.toMatchObject({ ok: true });
  });

  it('a waiting send can be aborted, and is refused by close', async () => {
    const { queue } = setup({ capacity: 1 });
    queue.enqueue('a');
    const controller = new AbortController();
    const aborted = queue.send('b', { signal: controller.signal });
    const refused = queue.send('c');
    controller.abort(new Error('changed my mind'));
    await expect(aborted).rejects.toThrow('changed my mind');
    void queue.close();
    await expect(refused).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(refused).rejects.toMatchObject({ value: 'c' });
  });

  it('a waiting send with a duplicate id is answered at once', async () => {
    const { queue } = setup({ capacity: 1 });
    queue.enqueue('a', { id: 'a' });
    await expect(queue.send('a', { id: 'a' })).resolves.toEqual({
      ok: false,
      reason: 'duplicate',
      id: 'a',
    });
  });

  it('error: enqueue and send fail with ChannelFullError carrying the payload', async () => {
    const { queue } = setup({ capacity: 1, overflow: 'error' });
    queue.enqueue('a');
    expect(() => queue.enqueue('b')).toThrow(/queue is full \(capacity 1\)/);
    await expect(queue.send('b')).rejects.toMatchObject({ name: 'ChannelFullError', value: 'b' });
  });

  it('drop: refuses the new message and reports it', async () => {
    const reported: Array<[string, string]> = [];
    const { queue } = setup({
      capacity: 1,
      overflow: 'drop',
      onOverflow: (payload, policy) => reported.push([payload, policy]),
    });
    queue.enqueue('a');
    expect(queue.enqueue('b', { id: 'b' })).toEqual({ ok: false, reason: 'dropped', id: 'b' });
    await expect(queue.send('c', { id: 'c' })).resolves.toMatchObject({ reason: 'dropped' });
    expect(reported).toEqual([
      ['b', 'drop'],
      ['c', 'drop'],
    ]);
    expect(queue.stats()).toMatchObject({ dropped: 2, visible: 1 });
  });

  it('replace: evicts the oldest visible (else delayed) message and reports it; fails if all are in flight', () => {
    const reported: string[] = [];
    const { queue } = setup({
      capacity: 2,
      overflow: 'replace',
      onOverflow: (payload) => reported.push(payload),
    });
    queue.enqueue('a');
    queue.enqueue('b', { delay: 10 });
    expect(queue.enqueue('c').ok).toBe(true); // evicts a
    expect(queue.enqueue('d').ok).toBe(true); // evicts c (the oldest visible)
    expect(reported).toEqual(['a', 'c']);
    take(queue); // d in flight
    expect(queue.enqueue('e').ok).toBe(true); // nothing visible: evicts delayed b
    expect(reported).toEqual(['a', 'c', 'b']);
    take(queue); // e in flight
    expect(() => queue.enqueue('f')).toThrow(/every message is in flight/);
  });
});

describe('MessageQueue: close', () => {
  it('close with in-flight messages: grace for acks, then the rest is released uncounted', async () => {
    const { clock, queue } = setup({ visibilityTimeout: 10_000 });
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    const a = take(queue);
    const b = take(queue);
    let result: unknown;
    void queue.close({ grace: 500 }).then((r) => {
      result = r;
    });
    expect(queue.isClosed).toBe(true);
    expect(queue.dequeue()).toBeUndefined(); // no new deliveries
    expect(() => queue.enqueue('d')).toThrow(ChannelClosedError);
    clock.advanceTo(200);
    expect(queue.ack(a.receipt)).toEqual({ ok: true }); // within grace
    clock.advanceTo(500);
    await settle();
    expect(result).toEqual({ released: 1 });
    expect(queue.ack(b.receipt)).toEqual({ ok: false, reason: 'released' });
    expect(queue.stats()).toMatchObject({ visible: 2, inFlight: 0, released: 1, acked: 1 });
    expect(clock.pending).toBe(0); // nothing keeps the process alive
  });

  it('close resolves as soon as the last lease ends within grace', async () => {
    const { queue } = setup();
    queue.enqueue('a');
    const a = take(queue);
    const closed = queue.close({ grace: Number.POSITIVE_INFINITY });
    expect(queue.close()).toBe(closed); // idempotent
    queue.nack(a.receipt);
    await expect(closed).resolves.toEqual({ released: 0 });
  });

  it('grace 0 (the default) releases at once', async () => {
    const { queue } = setup();
    queue.enqueue('a');
    take(queue);
    await expect(queue.close()).resolves.toEqual({ released: 1 });
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
  });

  it('completes the dead letter stream and cancels delayed timers', async () => {
    const { clock, queue } = setup();
    let completed = false;
    queue.deadLettered.subscribe({ complete: () => (completed = true) });
    queue.enqueue('later', { delay: 100 });
    expect(clock.pending).toBe(1);
    await queue.close();
    expect(completed).toBe(true);
    expect(clock.pending).toBe(0);
    expect(queue.stats().delayed).toBe(1);
  });
});

describe('MessageQueue: validation', () => {
  it('rejects bad options at construction, naming them', () => {
    expect(() => new MessageQueue({ visibilityTimeout: -1 })).toThrow(
      'MessageQueue: visibilityTimeout must be a number of milliseconds >= 0 or Infinity, got -1',
    );
    expect(() => new MessageQueue({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => new MessageQueue({ capacity: 0 })).toThrow(RangeError);
    expect(() => new MessageQueue({ overflow: 'nope' as never })).toThrow(TypeError);
    expect(() => new MessageQueue({ dedupWindow: Number.NaN })).toThrow(RangeError);
    expect(() => new MessageQueue({ deadLetter: { capacity: 0 } })).toThrow('deadLetter.capacity');
    expect(() => new MessageQueue({ scheduler: {} as never })).toThrow(TypeError);
    expect(() => new MessageQueue(null as never)).toThrow(TypeError);
  });

  it('rejects bad call arguments, but never a bad receipt', () => {
    const { queue } = setup();
    expect(() => queue.enqueue('x', { id: '' })).toThrow(
      'MessageQueue.enqueue: id must be a non-empty string, got ""',
    );
    expect(() => queue.enqueue('x', { delay: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => queue.nack('r', { delay: -5 })).toThrow(RangeError);
    expect(() => queue.extend('r', Number.NaN)).toThrow(RangeError);
    expect(() => queue.redrive('abc' as never)).toThrow(TypeError);
    expect(() => queue.redrive([1] as never)).toThrow(TypeError);
  });
});

describe('MessageQueue: timers and the default scheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs on asyncScheduler by default, and close leaves no timer behind', async () => {
    vi.useFakeTimers();
    const queue = new MessageQueue<string>({ visibilityTimeout: 1_000 });
    queue.enqueue('a');
    queue.enqueue('b', { delay: 5_000 });
    const d = take(queue);
    void queue.receive({ wait: 60_000 });
    expect(vi.getTimerCount()).toBe(3); // lease, delay, long poll
    vi.advanceTimersByTime(1_000);
    expect(queue.stats()).toMatchObject({ expired: 1, inFlight: 1 }); // the poll took it
    expect(queue.ack(d.receipt)).toEqual({ ok: false, reason: 'stale' });
    await queue.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
