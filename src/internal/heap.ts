/**
 * A binary min-heap with removal by handle: `push`, `pop`, `remove(handle)` and
 * `update(handle, key)` are all O(log n).
 *
 * `push(value, key, order)` returns a handle, a small integer that names the entry until it
 * leaves the heap (popped or removed); the caller keeps it to remove the entry or change its key
 * later. Removal is real, not lazy: a removed entry leaves at once, so `size` is exact and the
 * heap never holds dead entries (an acknowledged lease costs nothing later).
 *
 * Ordering is by `key`, then by `order` for equal keys, so entries with the same key come out
 * in the order the caller numbered them (first in, first out when `order` is a counter).
 *
 * Layout: keys, orders and handles live in typed arrays indexed by position, and positions in a
 * typed array indexed by handle. Sifting compares and moves numbers in contiguous memory and
 * never touches the values themselves, which keeps a heap of a million entries from paying a
 * cache miss per level for every object it compares. The arrays double when full.
 */
export class Heap<T> {
  private values: Array<T | undefined> = [];
  private keys: Float64Array;
  private orders: Float64Array;
  /** handle of the entry at each position */
  private handles: Int32Array;
  /** position of each handle, -1 when free */
  private positions: Int32Array;
  private freeHandles: number[] = [];
  private nextHandle = 0;
  private count = 0;

  private readonly initialSize: number;

  constructor(initialSize = 16) {
    const size = Math.max(4, initialSize);
    this.initialSize = size;
    this.keys = new Float64Array(size);
    this.orders = new Float64Array(size);
    this.handles = new Int32Array(size);
    this.positions = new Int32Array(size).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  /** The value with the smallest key, without removing it. */
  peek(): T | undefined {
    return this.count > 0 ? this.values[0] : undefined;
  }

  /** The smallest key, or `Infinity` when the heap is empty. */
  minKey(): number {
    return this.count > 0 ? this.keys[0]! : Number.POSITIVE_INFINITY;
  }

  /** The tie-breaking order of the smallest entry, or `Infinity` when the heap is empty. */
  minOrder(): number {
    return this.count > 0 ? this.orders[0]! : Number.POSITIVE_INFINITY;
  }

  /** Adds `value` with `key` (ties broken by lower `order` first); returns its handle. */
  push(value: T, key: number, order: number): number {
    const index = this.count;
    if (index === this.keys.length) this.growEntries();
    const handle = this.freeHandles.length > 0 ? this.freeHandles.pop()! : this.newHandle();
    this.values[index] = value;
    this.keys[index] = key;
    this.orders[index] = order;
    this.handles[index] = handle;
    this.positions[handle] = index;
    this.count++;
    this.up(index);
    return handle;
  }

  /** Removes and returns the value with the smallest key. */
  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const top = this.values[0];
    this.removeAt(0);
    return top;
  }

  /** Removes the entry `handle` names. Returns false when the handle names no entry. */
  remove(handle: number): boolean {
    const index = handle >= 0 && handle < this.nextHandle ? this.positions[handle]! : -1;
    if (index < 0) return false;
    this.removeAt(index);
    return true;
  }

  /** The key of the entry `handle` names (`NaN` when it names none). */
  keyOf(handle: number): number {
    const index = handle >= 0 && handle < this.nextHandle ? this.positions[handle]! : -1;
    return index < 0 ? Number.NaN : this.keys[index]!;
  }

  /** Changes the key of the entry `handle` names and restores the order. */
  update(handle: number, key: number): void {
    const index = handle >= 0 && handle < this.nextHandle ? this.positions[handle]! : -1;
    if (index < 0) throw new Error('heap: the handle names no entry');
    const old = this.keys[index]!;
    this.keys[index] = key;
    if (key < old) this.up(index);
    else if (key > old) this.down(index);
  }

  /** Removes every entry, returning the values in no particular order. */
  clear(): T[] {
    const all = this.values.slice(0, this.count) as T[];
    for (let i = 0; i < this.count; i++) this.freeHandle(this.handles[i]!);
    this.values = [];
    this.count = 0;
    this.shrinkIfIdle();
    return all;
  }

  private removeAt(index: number): void {
    const last = --this.count;
    this.freeHandle(this.handles[index]!);
    if (last === 0) {
      this.values[0] = undefined;
      this.shrinkIfIdle();
      return;
    }
    if (index === last) {
      this.values[last] = undefined;
      return;
    }
    if (index === 0) {
      // Sink the hole to a leaf along the smaller children (one comparison per level), then let
      // the last entry rise from there: it usually belongs near the bottom (Floyd's trick).
      const hole = this.sinkHole(0, last);
      this.move(last, hole);
      this.values[last] = undefined;
      this.up(hole);
      return;
    }
    this.move(last, index);
    this.values[last] = undefined;
    // The moved entry may belong above or below its new position.
    if (this.less(index, (index - 1) >> 1)) this.up(index);
    else this.down(index);
  }

  /** Moves the smaller child up into the hole at `index` until the hole is a leaf of `length` entries. */
  private sinkHole(index: number, length: number): number {
    const keys = this.keys;
    const orders = this.orders;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) return index;
      const right = child + 1;
      if (right < length) {
        const kr = keys[right]!;
        const kl = keys[child]!;
        if (kr < kl || (kr === kl && orders[right]! < orders[child]!)) child = right;
      }
      this.move(child, index);
      index = child;
    }
  }

  /**
   * Empty after a burst: give the arrays grown for it back (no handle is outstanding when the
   * heap is empty), so an idle heap costs its initial size, not its peak.
   */
  private shrinkIfIdle(): void {
    if (this.positions.length <= 4 * this.initialSize) return;
    const size = this.initialSize;
    this.values = [];
    this.keys = new Float64Array(size);
    this.orders = new Float64Array(size);
    this.handles = new Int32Array(size);
    this.positions = new Int32Array(size).fill(-1);
    this.freeHandles = [];
    this.nextHandle = 0;
  }

  private freeHandle(handle: number): void {
    this.positions[handle] = -1;
    this.freeHandles.push(handle);
  }

  private newHandle(): number {
    const handle = this.nextHandle++;
    if (handle === this.positions.length) {
      const positions = new Int32Array(this.positions.length * 2).fill(-1);
      positions.set(this.positions);
      this.positions = positions;
    }
    return handle;
  }

  private growEntries(): void {
    const size = this.keys.length * 2;
    const keys = new Float64Array(size);
    keys.set(this.keys);
    this.keys = keys;
    const orders = new Float64Array(size);
    orders.set(this.orders);
    this.orders = orders;
    const handles = new Int32Array(size);
    handles.set(this.handles);
    this.handles = handles;
  }

  /** Entry at `a` sorts before entry at `b`. */
  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && this.orders[a]! < this.orders[b]!);
  }

  /** Copies the entry at `from` into position `to`. */
  private move(from: number, to: number): void {
    this.values[to] = this.values[from];
    this.keys[to] = this.keys[from]!;
    this.orders[to] = this.orders[from]!;
    const handle = this.handles[from]!;
    this.handles[to] = handle;
    this.positions[handle] = to;
  }

  private up(index: number): void {
    const keys = this.keys;
    const orders = this.orders;
    const value = this.values[index];
    const key = keys[index]!;
    const order = orders[index]!;
    const handle = this.handles[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const pk = keys[parent]!;
      if (!(key < pk || (key === pk && order < orders[parent]!))) break;
      this.move(parent, index);
      index = parent;
    }
    this.values[index] = value;
    keys[index] = key;
    orders[index] = order;
    this.handles[index] = handle;
    this.positions[handle] = index;
  }

  private down(index: number): void {
    const keys = this.keys;
    const orders = this.orders;
    const length = this.count;
    const value = this.values[index];
    const key = keys[index]!;
    const order = orders[index]!;
    const handle = this.handles[index]!;
    const half = length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      const right = child + 1;
      if (right < length) {
        const kr = keys[right]!;
        const kl = keys[child]!;
        if (kr < kl || (kr === kl && orders[right]! < orders[child]!)) child = right;
      }
      const ck = keys[child]!;
      if (!(ck < key || (ck === key && orders[child]! < order))) break;
      this.move(child, index);
      index = child;
    }
    this.values[index] = value;
    keys[index] = key;
    orders[index] = order;
    this.handles[index] = handle;
    this.positions[handle] = index;
  }
}
