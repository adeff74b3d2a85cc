import type { OverflowHandler, OverflowOptions, OverflowPolicy } from '../overflow.js';
import { Ring } from './ring.js';
import { checkCapacity, checkFunction, checkOneOf, checkOptions, optionNames } from './validate.js';

/** The option names of a channel that has only the overflow options (mpsc, mpmc). */
export const OVERFLOW_OPTIONS = optionNames<OverflowOptions<unknown>>()({
  overflow: 1,
  onOverflow: 1,
});

export const POLICIES: readonly OverflowPolicy[] = ['block', 'drop', 'replace', 'error'];

/** What `offer` did with a message. `'full'` leaves the decision (wait or fail) to the caller. */
export type Offer = 'accepted' | 'dropped' | 'full';

/** Validated capacity and overflow options. */
export interface BufferConfig<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly onOverflow: OverflowHandler<T> | undefined;
}

/** Reads `{ overflow, onOverflow }` and a capacity, throwing a clear error for bad input. */
export function bufferConfig<T>(
  where: string,
  capacity: unknown,
  options: unknown,
  known?: readonly string[],
): BufferConfig<T> {
  const opts = checkOptions<OverflowOptions<T>>(where, options, known);
  return {
    capacity: checkCapacity(where, 'capacity', capacity),
    overflow:
      opts.overflow === undefined
        ? 'block'
        : checkOneOf(where, 'overflow', opts.overflow, POLICIES),
    onOverflow: checkFunction<OverflowHandler<T>>(where, 'onOverflow', opts.onOverflow, true),
  };
}

/**
 * The one bounded buffer behind every channel, operator and queue in sluice: a ring buffer
 * that never holds more than `capacity` messages and applies the overflow policy when full.
 * Every discarded message goes to `onOverflow` and the `dropped` counter.
 */
export class PolicyBuffer<T> {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  private readonly onOverflow: OverflowHandler<T> | undefined;
  private readonly ring: Ring<T>;
  /** Messages discarded by `'drop'` or `'replace'`. */
  dropped = 0;

  constructor(config: BufferConfig<T>) {
    this.capacity = config.capacity;
    this.policy = config.overflow;
    this.onOverflow = config.onOverflow;
    this.ring = new Ring<T>(Math.min(config.capacity, 16));
  }

  get size(): number {
    return this.ring.size;
  }

  get isFull(): boolean {
    return this.ring.size >= this.capacity;
  }

  /** Adds a message if there is room, else applies the policy. */
  offer(value: T): Offer {
    if (this.ring.size < this.capacity) {
      this.ring.push(value);
      return 'accepted';
    }
    switch (this.policy) {
      case 'drop':
        this.dropped++;
        this.onOverflow?.(value, 'drop');
        return 'dropped';
      case 'replace': {
        const evicted = this.ring.shift();
        this.ring.push(value);
        this.dropped++;
        this.onOverflow?.(evicted, 'replace');
        return 'accepted';
      }
      default:
        return 'full';
    }
  }

  /** Adds a message regardless of capacity (a waiting sender whose slot just freed). */
  push(value: T): void {
    this.ring.push(value);
  }

  /**
   * Puts messages a consumer had taken but could not use back in front, oldest first, in
   * their order, regardless of capacity (they were accepted once; they are not offered again).
   */
  giveBack(values: readonly T[]): void {
    for (let i = values.length - 1; i >= 0; i--) this.ring.unshift(values[i] as T);
  }

  /** The oldest message; the caller checks `size` first. */
  shift(): T {
    return this.ring.shift();
  }

  peek(): T {
    return this.ring.peek();
  }

  drain(): T[] {
    return this.ring.drain();
  }
}
