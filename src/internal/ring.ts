/**
 * A first-in first-out ring buffer. `push`, `shift` and `peek` are O(1); the backing array
 * doubles when full (amortised O(1)) up to the caller's capacity, so an `Infinity`-capacity
 * channel only pays for what it holds. Shifted slots are cleared so the buffer never keeps a
 * message alive after handing it out.
 */
export class Ring<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;
  private mask: number;
  private readonly initialSize: number;

  constructor(initialSize = 16) {
    let size = 4;
    while (size < initialSize) size *= 2;
    this.items = new Array<T | undefined>(size);
    this.mask = size - 1;
    this.initialSize = size;
  }

  get size(): number {
    return this.count;
  }

  push(value: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = value;
    this.count++;
  }

  /** Puts an item back in front of the oldest (it becomes the next `shift`). */
  unshift(value: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = value;
    this.count++;
  }

  /** Removes and returns the oldest item; the caller checks `size` first. */
  shift(): T {
    const value = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    // Emptied after a burst: give the grown array back, so an idle ring costs its initial size.
    if (this.count === 0 && this.items.length > 1024 && this.items.length > 4 * this.initialSize) {
      this.items = new Array<T | undefined>(this.initialSize);
      this.mask = this.initialSize - 1;
      this.head = 0;
    }
    return value;
  }

  /** The oldest item without removing it; the caller checks `size` first. */
  peek(): T {
    return this.items[this.head] as T;
  }

  /** The item `index` places from the oldest; the caller keeps `index < size`. */
  at(index: number): T {
    return this.items[(this.head + index) & this.mask] as T;
  }

  /** Removes every item, returning them oldest first. */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shift());
    return out;
  }

  private grow(): void {
    const old = this.items;
    const size = old.length * 2;
    const next = new Array<T | undefined>(size);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = size - 1;
  }
}
