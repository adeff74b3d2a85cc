import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_VICTIM, PolicyBuffer } from '../../src/internal/policyBuffer.js';
import type { OverflowPolicy } from '../../src/overflow.js';

function buffer(
  capacity: number,
  overflow: OverflowPolicy,
  extra?: () => number,
): { buf: PolicyBuffer<number>; reported: Array<[number, string]> } {
  const reported: Array<[number, string]> = [];
  const buf = new PolicyBuffer<number>(
    { capacity, overflow, onOverflow: (value, how) => reported.push([value, how]) },
    { extra },
  );
  return { buf, reported };
}

describe('PolicyBuffer', () => {
  it('accepts while there is room, then applies the policy', () => {
    const drop = buffer(2, 'drop');
    expect([1, 2, 3].map((n) => drop.buf.offer(n))).toEqual(['accepted', 'accepted', 'dropped']);
    expect(drop.buf.drain()).toEqual([1, 2]);
    expect(drop.reported).toEqual([[3, 'drop']]);
    expect(drop.buf.dropped).toBe(1);

    const replace = buffer(2, 'replace');
    expect([1, 2, 3].map((n) => replace.buf.offer(n))).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(replace.buf.drain()).toEqual([2, 3]);
    expect(replace.reported).toEqual([[1, 'replace']]);
    expect(replace.buf.dropped).toBe(1);

    for (const policy of ['block', 'error'] as const) {
      const full = buffer(1, policy);
      expect([1, 2].map((n) => full.buf.offer(n))).toEqual(['accepted', 'full']);
      expect(full.buf.drain()).toEqual([1]);
      expect(full.reported).toEqual([]);
      expect(full.buf.dropped).toBe(0);
    }
  });

  it('counts extra occupancy held elsewhere against its capacity', () => {
    let elsewhere = 1;
    const { buf, reported } = buffer(2, 'drop', () => elsewhere);
    expect(buf.offer(1)).toBe('accepted');
    expect(buf.isFull).toBe(true);
    expect(buf.offer(2)).toBe('dropped');
    elsewhere = 0;
    expect(buf.isFull).toBe(false);
    expect(buf.offer(3)).toBe('accepted');
    expect(buf.drain()).toEqual([1, 3]);
    expect(reported).toEqual([[2, 'drop']]);
  });

  it("under 'replace' with nothing in the ring to evict, discards the incoming message as a drop", () => {
    const { buf, reported } = buffer(1, 'replace', () => 1);
    expect(buf.offer(7)).toBe('dropped');
    expect(buf.size).toBe(0);
    expect(reported).toEqual([[7, 'drop']]);
    expect(buf.dropped).toBe(1);
  });

  it('takes the victim and places the message through the hooks it is given', () => {
    const { buf, reported } = buffer(1, 'replace');
    const elsewhere = [10, 11];
    const placed: number[] = [];
    const offer = buf.overflow(
      5,
      (value) => placed.push(value),
      () => elsewhere.shift() ?? NO_VICTIM,
    );
    expect(offer).toBe('accepted');
    expect(placed).toEqual([5]);
    expect(elsewhere).toEqual([11]);
    expect(reported).toEqual([[10, 'replace']]);
    expect(buf.dropped).toBe(1);
  });

  it('reports a discard only once the buffer is consistent again', () => {
    const seen: number[][] = [];
    const buf: PolicyBuffer<number> = new PolicyBuffer<number>({
      capacity: 2,
      overflow: 'replace',
      onOverflow: () => seen.push([buf.size, buf.peek()]),
    });
    buf.offer(1);
    buf.offer(2);
    buf.offer(3);
    expect(seen).toEqual([[2, 2]]);
  });

  it('lets an evict hook refuse by throwing, before anything is counted', () => {
    const { buf, reported } = buffer(1, 'replace');
    expect(() =>
      buf.overflow(
        1,
        () => undefined,
        () => {
          throw new RangeError('nothing to evict');
        },
      ),
    ).toThrow(RangeError);
    expect(buf.dropped).toBe(0);
    expect(reported).toEqual([]);
  });

  it('never holds more than its capacity and loses nothing unreported (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<OverflowPolicy>('block', 'drop', 'replace', 'error'),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (capacity, policy, ops) => {
          const { buf, reported } = buffer(capacity, policy);
          const taken: number[] = [];
          const refused: number[] = [];
          let next = 0;
          for (const offer of ops) {
            if (offer) {
              const value = next++;
              if (buf.offer(value) === 'full') refused.push(value);
            } else if (buf.size > 0) {
              taken.push(buf.shift());
            }
            expect(buf.size).toBeLessThanOrEqual(capacity);
          }
          taken.push(...buf.drain());
          expect(buf.dropped).toBe(reported.length);
          const all = [...taken, ...refused, ...reported.map(([value]) => value)].sort(
            (a, b) => a - b,
          );
          expect(all).toEqual(Array.from({ length: next }, (_, i) => i));
        },
      ),
    );
  });
});
