/**
 * Groups and priorities where only the in-memory queue can be asked: overflow policies and
 * waiting sends carry a message's group and priority.
 */
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import { ManualClock } from './manualClock.js';

function drain(queue: MessageQueue<string>): string[] {
  const out: string[] = [];
  for (let d = queue.dequeue(); d !== undefined; d = queue.dequeue()) {
    out.push(d.payload);
    queue.ack(d.receipt);
  }
  return out;
}

describe('MessageQueue: groups and priorities with overflow and waiting sends', () => {
  it("'replace' evicting a group's head lets the group's next message out; the newcomer keeps its group", async () => {
    const evicted: string[] = [];
    const queue = new MessageQueue<string>({
      scheduler: new ManualClock(),
      capacity: 2,
      overflow: 'replace',
      onOverflow: (payload) => evicted.push(payload),
    });
    queue.enqueue('a1', { group: 'a' });
    queue.enqueue('a2', { group: 'a' });
    expect(queue.enqueue('a3', { group: 'a' }).ok).toBe(true);
    expect(evicted).toEqual(['a1']);
    const a2 = queue.dequeue();
    expect(a2?.payload).toBe('a2');
    expect(queue.dequeue()).toBeUndefined(); // a3 waits behind a2
    queue.ack(a2!.receipt);
    expect(drain(queue)).toEqual(['a3']);
    await queue.close();
  });

  it('sends waiting for room enqueue with their group and priority when admitted', async () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock(), capacity: 2 });
    queue.enqueue('f1');
    queue.enqueue('f2');
    const u1 = queue.send('u1', { group: 'g', priority: -3 });
    const u2 = queue.send('u2', { group: 'g', priority: 9 });
    const f1 = queue.dequeue()!;
    queue.ack(f1.receipt);
    expect(await u1).toMatchObject({ ok: true });
    const f2 = queue.dequeue()!; // f2 (priority 0) before u1 (priority -3)
    expect(f2.payload).toBe('f2');
    queue.ack(f2.receipt);
    expect(await u2).toMatchObject({ ok: true });
    const first = queue.dequeue()!;
    expect(first.payload).toBe('u1'); // u2 waits behind its group's head, priority 9 or not
    expect(queue.dequeue()).toBeUndefined();
    queue.ack(first.receipt);
    expect(drain(queue)).toEqual(['u2']);
    await queue.close();
  });

  it('refuses bad order options in send() as a rejection, naming the option', async () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock() });
    await expect(queue.send('x', { priority: 0.5 })).rejects.toThrow(
      /MessageQueue\.send: priority must be a whole number from -1000000 to 1000000, got 0\.5/,
    );
    await expect(queue.send('x', { group: '' })).rejects.toThrow(
      /MessageQueue\.send: group must be/,
    );
    expect(() => queue.enqueue('x', { grup: 'a' } as never)).toThrow(/did you mean "group"/);
    expect(queue.stats().enqueued).toBe(0);
    await queue.close();
  });

  it('a consumer waiting on consume() gets the next message of a group when the head is acked', async () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock() });
    queue.enqueue('a1', { group: 'a' });
    queue.enqueue('a2', { group: 'a' });
    const first = queue.dequeue()!;
    const polled = queue.receive({ wait: Number.POSITIVE_INFINITY });
    queue.ack(first.receipt);
    expect((await polled).map((d) => d.payload)).toEqual(['a2']);
    await queue.close();
  });
});
