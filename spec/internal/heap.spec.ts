import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/internal/heap.js';

function drain<T>(heap: Heap<T>): T[] {
  const out: T[] = [];
  while (heap.size > 0) out.push(heap.pop()!);
  return out;
}

describe('Heap', () => {
  it('is empty at first', () => {
    const heap = new Heap<string>();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    expect(heap.minKey()).toBe(Number.POSITIVE_INFINITY);
    expect(heap.minOrder()).toBe(Number.POSITIVE_INFINITY);
  });

  it('pops in key order', () => {
    const heap = new Heap<string>();
    for (const [i, key] of [5, 3, 8, 1, 9, 2, 7].entries()) heap.push(String(key), key, i);
    expect(heap.size).toBe(7);
    expect(heap.minKey()).toBe(1);
    expect(heap.peek()).toBe('1');
    expect(drain(heap)).toEqual(['1', '2', '3', '5', '7', '8', '9']);
  });

  it('breaks ties by order: equal keys come out first in, first out', () => {
    const heap = new Heap<string>();
    for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) heap.push(name, 10, i + 1);
    heap.push('early', 5, 99);
    heap.push('first of the tens', 10, 0);
    expect(drain(heap)).toEqual(['early', 'first of the tens', 'a', 'b', 'c', 'd', 'e']);
  });

  it('removes an entry by handle from anywhere, keeping the order', () => {
    const heap = new Heap<string>();
    const handles = [4, 1, 7, 3, 9, 2, 8].map((key, i) => heap.push(String(key), key, i));
    expect(heap.remove(handles[3]!)).toBe(true); // key 3
    expect(heap.remove(handles[3]!)).toBe(false); // already out
    expect(heap.keyOf(handles[3]!)).toBeNaN();
    expect(heap.remove(handles[1]!)).toBe(true); // the root, key 1
    expect(heap.remove(-1)).toBe(false);
    expect(heap.remove(1_000)).toBe(false);
    expect(drain(heap)).toEqual(['2', '4', '7', '8', '9']);
  });

  it('reuses handles of entries that left', () => {
    const heap = new Heap<string>();
    const a = heap.push('a', 1, 0);
    heap.pop();
    const b = heap.push('b', 2, 1);
    expect(b).toBe(a);
    expect(heap.keyOf(b)).toBe(2);
  });

  it('updates a key both ways', () => {
    const heap = new Heap<string>();
    const h = [10, 20, 30, 40].map((key, i) => heap.push(String(key), key, i));
    heap.update(h[3]!, 5); // 40 -> 5
    expect(heap.peek()).toBe('40');
    expect(heap.keyOf(h[3]!)).toBe(5);
    heap.update(h[3]!, 35); // back down
    heap.update(h[0]!, 25); // 10 -> 25
    // keys now 25 (named 10), 20, 30, 35 (named 40)
    expect(drain(heap)).toEqual(['20', '10', '30', '40']);
    expect(() => heap.update(h[0]!, 1)).toThrow(/names no entry/);
  });

  it('grows past its initial size and clears', () => {
    const heap = new Heap<number>(4);
    for (let i = 1_000; i > 0; i--) heap.push(i, i, i);
    expect(heap.size).toBe(1_000);
    expect(heap.minKey()).toBe(1);
    expect(heap.clear()).toHaveLength(1_000);
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
  });

  it('behaves like a sorted list under any mix of push, pop, remove and update', () => {
    type Op =
      | { op: 'push'; key: number }
      | { op: 'pop' }
      | { op: 'remove'; pick: number }
      | { op: 'update'; pick: number; key: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant('pop' as const) }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({
        op: fc.constant('update' as const),
        pick: fc.nat(),
        key: fc.integer({ min: 0, max: 50 }),
      }),
    );
    interface Entry {
      key: number;
      order: number;
      handle: number;
    }
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const heap = new Heap<Entry>(4);
        let model: Entry[] = [];
        const sortModel = () =>
          model.sort((a, b) => (a.key === b.key ? a.order - b.order : a.key - b.key));
        let order = 0;
        for (const step of ops) {
          switch (step.op) {
            case 'push': {
              const entry: Entry = { key: step.key, order: order++, handle: -1 };
              entry.handle = heap.push(entry, entry.key, entry.order);
              model.push(entry);
              break;
            }
            case 'pop': {
              sortModel();
              expect(heap.pop()).toBe(model.shift());
              break;
            }
            case 'remove': {
              if (model.length === 0) break;
              const entry = model[step.pick % model.length]!;
              expect(heap.remove(entry.handle)).toBe(true);
              model = model.filter((e) => e !== entry);
              break;
            }
            case 'update': {
              if (model.length === 0) break;
              const entry = model[step.pick % model.length]!;
              entry.key = step.key;
              heap.update(entry.handle, step.key);
              break;
            }
          }
          expect(heap.size).toBe(model.length);
          sortModel();
          expect(heap.peek()).toBe(model[0]);
          for (const entry of model) expect(heap.keyOf(entry.handle)).toBe(entry.key);
        }
        sortModel();
        expect(drain(heap)).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });
});
