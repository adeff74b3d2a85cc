/**
 * Bounded memory and quiet errors of the in-memory queue: size limits, nothing kept for a
 * finished message without an id, and caller ids quoted and cut in error messages.
 */
import { lastValueFrom, NEVER, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import { MessageTooLargeError } from '../../src/queue/messageTooLargeError.js';
import { ManualClock } from '../queue/manualClock.js';

/** What the queue holds per message (internal: inspected to show nothing is left behind). */
interface Held {
  readonly core: {
    readonly slab: { readonly size: number };
    readonly dedup: { readonly size: number; holder(id: string): unknown };
  };
}
const held = (queue: object) => (queue as unknown as Held).core;

describe('in-memory queue: bounded memory', () => {
  it('with dedupWindow: Infinity, finished messages without an id leave nothing behind; ids given are kept to deduplicate', () => {
    const queue = new MessageQueue<string>({
      dedupWindow: Number.POSITIVE_INFINITY,
      capacity: 5000,
    });
    for (let i = 0; i < 3000; i++) queue.enqueue(`m${i}`);
    for (let d = queue.dequeue(); d !== undefined; d = queue.dequeue()) queue.ack(d.receipt);
    expect(held(queue).slab.size).toBe(0);
    expect(held(queue).dedup.size).toBe(0);
    queue.enqueue('named', { id: 'kept' });
    queue.ack(queue.dequeue()!.receipt);
    expect(held(queue).dedup.holder('kept')).toBeDefined();
    expect(queue.enqueue('again', { id: 'kept' })).toMatchObject({
      ok: false,
      reason: 'duplicate',
    });
  });

  it('refuses binary payloads over maxPayloadBytes by byteLength, and measures no other objects', () => {
    const queue = new MessageQueue<unknown>({ maxPayloadBytes: 16 });
    expect(() => queue.enqueue(new Uint8Array(17))).toThrow(MessageTooLargeError);
    expect(() => queue.enqueue(new ArrayBuffer(17))).toThrow(
      /payload is at least 17 bytes, more than maxPayloadBytes \(16\)/,
    );
    expect(() => queue.enqueue(new Blob(['x'.repeat(17)]))).toThrow(MessageTooLargeError);
    expect(queue.enqueue(new Uint8Array(16)).ok).toBe(true);
    expect(queue.enqueue({ big: 'x'.repeat(100) }).ok).toBe(true); // by reference, counted by capacity
    expect(queue.enqueue('😀😀😀😀').ok).toBe(true); // 4 surrogate pairs: 16 bytes
    expect(() => queue.enqueue('😀😀😀😀é')).toThrow(MessageTooLargeError); // 18 bytes
    expect(queue.stats().enqueued).toBe(3);
  });

  it('refuses bad limits, naming them', () => {
    expect(() => new MessageQueue({ maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes must be/);
    expect(() => new MessageQueue({ maxIdLength: 1.5 })).toThrow(/maxIdLength must be/);
    expect(
      new MessageQueue({ maxPayloadBytes: Number.POSITIVE_INFINITY }).enqueue('x'.repeat(2_000_000))
        .ok,
    ).toBe(true);
  });

  it('send and schedule are held to the same limits', async () => {
    const queue = new MessageQueue<string>({ maxPayloadBytes: 4, maxIdLength: 4 });
    await expect(queue.send('12345')).rejects.toBeInstanceOf(MessageTooLargeError);
    await expect(queue.send('1', { id: '12345' })).rejects.toMatchObject({ limit: 'maxIdLength' });
    expect(queue.stats().enqueued).toBe(0);
    await queue.close();
  });
});

describe('in-memory queue: errors that can be logged', () => {
  it('a caller id in a consume error is quoted and cut: no newline reaches the log, the length is bounded', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock, visibilityTimeout: 100 });
    const id = `tenant\nFAKE LOG LINE ${'x'.repeat(200)}`;
    queue.enqueue('job', { id });
    const reasons: unknown[] = [];
    const done = lastValueFrom(
      queue
        .consume((_, { signal }) => {
          signal.addEventListener('abort', () => reasons.push(signal.reason));
          return NEVER;
        })
        .pipe(toArray()),
    );
    clock.advance(100);
    const message = (reasons[0] as Error).message;
    expect(message).toContain('"tenant\\nFAKE LOG LINE');
    expect(message).not.toContain('\n');
    expect(message).not.toContain('x'.repeat(50));
    expect(message.length).toBeLessThan(250);
    await queue.close();
    await done;
  });
});
