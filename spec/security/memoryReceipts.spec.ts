/**
 * In-memory receipts are unforgeable: a receipt is `<slot>.<seq>:<delivery>:<queue><secret>`
 * where the secret is 96 random bits. Whoever knows a message's id, or one of its receipts,
 * cannot compute another receipt, and a receipt of one queue means nothing to another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import { ManualClock } from '../queue/manualClock.js';

function open(visibilityTimeout = 100) {
  const clock = new ManualClock();
  return { clock, queue: new MessageQueue<string>({ scheduler: clock, visibilityTimeout }) };
}

/** `[slot, seq, delivery, rest]` of a receipt. */
function fields(receipt: string): [number, number, number, string] {
  const match = /^(\d+)\.(\d+):(\d+):(.+)$/.exec(receipt);
  if (match === null) throw new Error(`not a receipt: ${receipt}`);
  return [Number(match[1]), Number(match[2]), Number(match[3]), match[4]!];
}

/** Every receipt that differs from `receipt` by a small step of one numeric field. */
function neighbours(receipt: string): string[] {
  const [slot, seq, n, rest] = fields(receipt);
  const out: string[] = [];
  for (const d of [-2, -1, 1, 2]) {
    out.push(`${slot + d}.${seq}:${n}:${rest}`);
    out.push(`${slot}.${seq + d}:${n}:${rest}`);
    out.push(`${slot}.${seq}:${n + d}:${rest}`);
  }
  return out.filter((r) => !r.includes('-'));
}

/** Each call on the receipt refuses it; the queue's state is as before. */
function expectRefused(queue: MessageQueue<string>, receipt: string): void {
  const before = queue.stats();
  expect(queue.ack(receipt).ok).toBe(false);
  expect(queue.extend(receipt, Number.POSITIVE_INFINITY).ok).toBe(false);
  expect(queue.nack(receipt).ok).toBe(false);
  expect(queue.release(receipt).ok).toBe(false);
  expect(queue.stats()).toEqual(before);
}

describe('in-memory receipts', () => {
  it('carry 96 random bits: 16 base64 characters after the queue name, never repeated', () => {
    const { queue } = open();
    const secrets = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      queue.enqueue(`m${i}`);
      const rest = fields(queue.dequeue()!.receipt)[3];
      expect(rest).toMatch(/^[A-Za-z0-9+/_-]{8}[A-Za-z0-9+/]{16}$/);
      secrets.add(rest.slice(8));
    }
    expect(secrets.size).toBe(3000);
  });

  it('cannot be derived from the message id (generated or given)', () => {
    const { queue } = open();
    const generated = queue.enqueue('a');
    queue.enqueue('b', { id: 'order-1' });
    const [first, second] = [queue.dequeue()!, queue.dequeue()!];
    const name = fields(first.receipt)[3].slice(0, 8);
    for (const delivery of [first, second]) {
      const tag = delivery.receipt.split(':')[0];
      for (const forged of [
        delivery.id,
        `${delivery.id}:1`,
        `${tag}:1`,
        `${tag}:1:`,
        `${tag}:1:${name}`,
        `${tag}:1:${name}${'A'.repeat(16)}`,
        `${tag}:1:${name}${'A'.repeat(32)}`,
      ]) {
        expectRefused(queue, forged);
      }
    }
    expect(generated.ok && generated.id).toBe(first.id);
    expect(queue.ack(first.receipt)).toEqual({ ok: true });
    expect(queue.ack(second.receipt)).toEqual({ ok: true });
  });

  it('cannot be derived from another receipt: every nearby value of every numeric field is refused', () => {
    const { queue } = open();
    for (let i = 0; i < 5; i++) queue.enqueue(`m${i}`);
    const deliveries = [queue.dequeue()!, queue.dequeue()!, queue.dequeue()!];
    for (const delivery of deliveries) {
      for (const forged of neighbours(delivery.receipt)) expectRefused(queue, forged);
    }
    // the real ones still work: the forgeries changed nothing
    for (const delivery of deliveries) expect(queue.ack(delivery.receipt)).toEqual({ ok: true });
  });

  it('a stale receipt (an earlier delivery) is refused, and bumping its delivery number does not give the current one', () => {
    const { clock, queue } = open();
    queue.enqueue('job');
    const first = queue.dequeue()!;
    clock.advance(100); // the lease runs out
    const second = queue.dequeue()!;
    expect(second.attempt).toBe(2);
    expect(queue.ack(first.receipt)).toEqual({ ok: false, reason: 'stale' });
    const [slot, seq, n, rest] = fields(first.receipt);
    expectRefused(queue, `${slot}.${seq}:${n + 1}:${rest}`);
    for (const forged of neighbours(first.receipt)) expectRefused(queue, forged);
    expect(queue.extend(second.receipt, 50)).toMatchObject({ ok: true });
    expect(queue.ack(second.receipt)).toEqual({ ok: true });
  });

  it('any change to any character of a live receipt is refused (property)', () => {
    const { queue } = open();
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 2 }), (at, replacement) => {
        queue.enqueue('x');
        const { receipt } = queue.dequeue()!;
        const i = at % receipt.length;
        const forged = receipt.slice(0, i) + replacement + receipt.slice(i + 1);
        if (forged !== receipt) expectRefused(queue, forged);
        expect(queue.ack(receipt)).toEqual({ ok: true });
      }),
      { numRuns: 300 },
    );
  });

  it("name their queue: another queue's receipt is refused, even with the same slot and delivery number", () => {
    const a = open().queue;
    const b = open().queue;
    a.enqueue('a');
    b.enqueue('b');
    const fromA = a.dequeue()!;
    const fromB = b.dequeue()!;
    expect(fields(fromA.receipt)[0]).toBe(fields(fromB.receipt)[0]); // same slot
    expectRefused(b, fromA.receipt);
    expectRefused(a, fromB.receipt);
    // B's receipt with A's name in it, or A's tag with B's secret: refused too
    const [slotB, seqB, nB, restB] = fields(fromB.receipt);
    const [slotA, seqA, nA, restA] = fields(fromA.receipt);
    expectRefused(b, `${slotB}.${seqB}:${nB}:${restA.slice(0, 8)}${restB.slice(8)}`);
    expectRefused(b, `${slotA}.${seqA}:${nA}:${restB}`);
    expect(a.ack(fromA.receipt)).toEqual({ ok: true });
    expect(b.ack(fromB.receipt)).toEqual({ ok: true });
  });

  it('a receipt of a finished message is refused, also once its slot is reused', () => {
    const { queue } = open();
    queue.enqueue('a');
    const old = queue.dequeue()!;
    queue.ack(old.receipt);
    queue.enqueue('b'); // reuses the slot
    const next = queue.dequeue()!;
    expect(fields(next.receipt)[0]).toBe(fields(old.receipt)[0]);
    expectRefused(queue, old.receipt);
    for (const forged of neighbours(old.receipt)) expectRefused(queue, forged);
    expect(queue.ack(next.receipt)).toEqual({ ok: true });
  });
});
