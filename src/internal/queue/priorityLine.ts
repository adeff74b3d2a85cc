/**
 * The visible line of the queue: higher priority first, first in first out within a priority.
 * Priority 0 (the default) has its own ring, so a queue that never uses priorities does one
 * ring push and one ring shift per message, as without them.
 * @module
 */
import { Ring } from '../ring.js';

export class PriorityLine<M extends { readonly priority: number }> {
  private readonly zero = new Ring<M>(16);
  /** The other priorities' rings, by priority. */
  private readonly levels = new Map<number, Ring<M>>();
  /** Priorities other than 0 with a non-empty ring, highest first. */
  private readonly order: number[] = [];
  /** Messages at priorities other than 0. */
  private others = 0;
  size = 0;

  push(message: M): void {
    this.size++;
    const priority = message.priority;
    if (priority === 0) {
      this.zero.push(message);
      return;
    }
    this.others++;
    let ring = this.levels.get(priority);
    if (ring === undefined) {
      ring = new Ring<M>(4);
      this.levels.set(priority, ring);
    }
    if (ring.size === 0) this.insert(priority);
    ring.push(message);
  }

  /** The first message of the highest priority; the line must not be empty. */
  shift(): M {
    this.size--;
    if (this.others === 0) return this.zero.shift();
    const top = this.order[0]!;
    if (top < 0 && this.zero.size > 0) return this.zero.shift();
    this.others--;
    const ring = this.levels.get(top)!;
    const message = ring.shift();
    if (ring.size === 0) {
      this.order.shift();
      this.levels.delete(top); // a priority used once keeps nothing
    }
    return message;
  }

  /** Adds `priority` to `order`, keeping it sorted highest first. */
  private insert(priority: number): void {
    const order = this.order;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]! > priority) lo = mid + 1;
      else hi = mid;
    }
    order.splice(lo, 0, priority);
  }
}
