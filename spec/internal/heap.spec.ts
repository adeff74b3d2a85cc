import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap, type HeapNode } from '../../src/internal/heap.js';

interface Item extends HeapNode {
  name: string;
}

let counter = 0;
function item(key: number, name = String(key)): Item {
  return { key, order: counter++, heapIndex: -1, name };
}

function drain(heap: Heap<Item>): string[] {
  const out: string[] = [];
  for (let node = heap.pop(); node !== undefined; node = heap.pop()) out.push(node.name);
  return out;
}

describe('Heap', () => {
  it('is empty at first', () => {
    const heap = new Heap<Item>();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    expect(heap.minKey()).toBe(Number.POSITIVE_INFINITY);
  });

  it('pops in key order', () => {
    const heap = new Heap<Item>();
    for (const key of [5, 3, 8, 1, 9, 2, 7]) heap.push(item(key));
    expect(heap.size).toBe(7);
    expect(heap.minKey()).toBe(1);
    expect(drain(heap)).toEqual(['1', '2', '3', '5', '7', '8', '9']);
  });

  it('breaks ties by order: equal keys come out first in, first out', () => {
    const heap = new Heap<Item>();
    for (const name of ['a', 'b', 'c', 'd', 'e']) heap.push(item(10, name));
    heap.push(item(5, 'early'));
    expect(drain(heap)).toEqual(['early', 'a', 'b', 'c', 'd', 'e']);
  });

  it('removes a node by handle from anywhere, keeping the order', () => {
    const heap = new Heap<Item>();
    const nodes = [4, 1, 7, 3, 9, 2, 8].map((k) => item(k));
    for (const node of nodes) heap.push(node);
    expect(heap.remove(nodes[3]!)).toBe(true); // key 3
    expect(nodes[3]!.heapIndex).toBe(-1);
    expect(heap.remove(nodes[3]!)).toBe(false); // already out
    expect(heap.remove(nodes[1]!)).toBe(true); // the root, key 1
    expect(drain(heap)).toEqual(['2', '4', '7', '8', '9']);
  });

  it('refuses to remove a node of another heap', () => {
    const a = new Heap<Item>();
    const b = new Heap<Item>();
    const x = item(1);
    const y = item(2);
    a.push(x);
    b.push(y);
    expect(a.remove(y)).toBe(false);
    expect(b.size).toBe(1);
  });

  it('updates a key both ways', () => {
    const heap = new Heap<Item>();
    const nodes = [10, 20, 30, 40].map((k) => item(k));
    for (const node of nodes) heap.push(node);
    heap.update(nodes[3]!, 5); // 40 -> 5
    expect(heap.peek()).toBe(nodes[3]);
    heap.update(nodes[3]!, 35); // back down
    heap.update(nodes[0]!, 25); // 10 -> 25
    // keys now 25 (named 10), 20, 30, 35 (named 40)
    expect(drain(heap)).toEqual(['20', '10', '30', '40']);
    expect(() => heap.update(nodes[0]!, 1)).toThrow(/not in this heap/);
  });

  it('clear empties it and detaches every node', () => {
    const heap = new Heap<Item>();
    const nodes = [3, 1, 2].map((k) => item(k));
    for (const node of nodes) heap.push(node);
    expect(heap.clear()).toHaveLength(3);
    expect(heap.size).toBe(0);
    for (const node of nodes) expect(node.heapIndex).toBe(-1);
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
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const heap = new Heap<Item>();
        let model: Item[] = [];
        const sortModel = () =>
          model.sort((a, b) => (a.key === b.key ? a.order - b.order : a.key - b.key));
        let order = 0;
        for (const step of ops) {
          switch (step.op) {
            case 'push': {
              const node: Item = { key: step.key, order: order++, heapIndex: -1, name: '' };
              heap.push(node);
              model.push(node);
              break;
            }
            case 'pop': {
              sortModel();
              const expected = model.shift();
              expect(heap.pop()).toBe(expected);
              break;
            }
            case 'remove': {
              if (model.length === 0) break;
              const node = model[step.pick % model.length]!;
              expect(heap.remove(node)).toBe(true);
              model = model.filter((n) => n !== node);
              break;
            }
            case 'update': {
              if (model.length === 0) break;
              heap.update(model[step.pick % model.length]!, step.key);
              break;
            }
          }
          expect(heap.size).toBe(model.length);
          sortModel();
          expect(heap.peek()).toBe(model[0]);
          model.forEach((n) => {
            expect(n.heapIndex).toBeGreaterThanOrEqual(0);
          });
        }
        sortModel();
        expect(drain(heap)).toEqual(model.map((n) => n.name));
      }),
      { numRuns: 200 },
    );
  });
});
