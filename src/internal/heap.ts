/**
 * An intrusive binary min-heap: the nodes themselves carry their key and their position, so
 * `push`, `pop`, `remove(node)` and `update(node, key)` are all O(log n) and allocate nothing
 * per operation (the backing array only grows).
 *
 * Removal is by handle, not lazy: a removed node leaves the array at once, so the heap never
 * holds dead entries, `size` is exact, and a node removed early (an acknowledged lease) costs
 * nothing later. The price is one `heapIndex` field per node, kept up to date by the heap.
 *
 * Ordering is by `key`, then by `order` for equal keys, so nodes with the same key come out in
 * the order the caller numbered them (first in, first out when `order` is an insertion counter).
 *
 * A node belongs to at most one heap at a time; `heapIndex` is -1 while it is in none.
 */
export interface HeapNode {
  /** What the heap orders by (a deadline, a due time). Must not change while in the heap, except through `update`. */
  key: number;
  /** Tie-breaker for equal keys: lower comes out first. */
  order: number;
  /** Position in the heap's array, or -1 when not in a heap. Maintained by the heap. */
  heapIndex: number;
}

export class Heap<N extends HeapNode> {
  private readonly nodes: N[] = [];

  get size(): number {
    return this.nodes.length;
  }

  /** The node with the smallest key, without removing it. */
  peek(): N | undefined {
    return this.nodes[0];
  }

  /** The smallest key, or `Infinity` when the heap is empty. */
  minKey(): number {
    const top = this.nodes[0];
    return top === undefined ? Number.POSITIVE_INFINITY : top.key;
  }

  /** Adds a node that is in no heap. */
  push(node: N): void {
    const index = this.nodes.length;
    this.nodes.push(node);
    node.heapIndex = index;
    this.up(index);
  }

  /** Removes and returns the node with the smallest key. */
  pop(): N | undefined {
    const nodes = this.nodes;
    const top = nodes[0];
    if (top === undefined) return undefined;
    const last = nodes.pop()!;
    top.heapIndex = -1;
    if (last !== top) {
      nodes[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    return top;
  }

  /** Removes `node` wherever it is. Returns false when it is not in this heap. */
  remove(node: N): boolean {
    const nodes = this.nodes;
    const index = node.heapIndex;
    if (index < 0 || nodes[index] !== node) return false;
    const last = nodes.pop()!;
    node.heapIndex = -1;
    if (last !== node) {
      nodes[index] = last;
      last.heapIndex = index;
      // The moved node may belong above or below its new position.
      if (index > 0 && less(last, nodes[(index - 1) >> 1]!)) this.up(index);
      else this.down(index);
    }
    return true;
  }

  /** Changes the key of a node in this heap and restores the order. */
  update(node: N, key: number): void {
    const index = node.heapIndex;
    if (index < 0 || this.nodes[index] !== node) throw new Error('heap: node is not in this heap');
    const old = node.key;
    node.key = key;
    if (key < old) this.up(index);
    else if (key > old) this.down(index);
  }

  /** Removes every node, returning them in no particular order. */
  clear(): N[] {
    const all = this.nodes.splice(0);
    for (const node of all) node.heapIndex = -1;
    return all;
  }

  private up(index: number): void {
    const nodes = this.nodes;
    const node = nodes[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = nodes[parentIndex]!;
      if (!less(node, parent)) break;
      nodes[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    nodes[index] = node;
    node.heapIndex = index;
  }

  private down(index: number): void {
    const nodes = this.nodes;
    const length = nodes.length;
    const node = nodes[index]!;
    const half = length >> 1;
    while (index < half) {
      let childIndex = 2 * index + 1;
      let child = nodes[childIndex]!;
      const rightIndex = childIndex + 1;
      if (rightIndex < length) {
        const right = nodes[rightIndex]!;
        if (less(right, child)) {
          childIndex = rightIndex;
          child = right;
        }
      }
      if (!less(child, node)) break;
      nodes[index] = child;
      child.heapIndex = index;
      index = childIndex;
    }
    nodes[index] = node;
    node.heapIndex = index;
  }
}

function less(a: HeapNode, b: HeapNode): boolean {
  return a.key < b.key || (a.key === b.key && a.order < b.order);
}
