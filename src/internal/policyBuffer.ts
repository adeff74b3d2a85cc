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

/** What `evict` returns when nothing can be discarded to make room. */
export const NO_VICTIM: unique symbol = Symbol('sluice.noVictim');

/** Where the messages a buffer counts live, when not all of them are in its own ring. */
export interface BufferOccupancy {
  /** Messages held outside the ring that count against `capacity` too. */
  readonly extra?: () => number;
}

/**
 * The one bounded buffer behind every channel, operator and queue in sluice, and the one place
 * the overflow policy is applied: a ring buffer that never holds more than `capacity` messages
 * (counting `extra` occupancy held elsewhere) and applies the policy when full. Every discarded
 * message goes to `onOverflow` and the `dropped` counter.
 */
export class PolicyBuffer<T> {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  private readonly onOverflow: OverflowHandler<T> | undefined;
  private readonly extra: (() => number) | undefined;
  private readonly ring: Ring<T>;
  private discarded = 0;

  constructor(config: BufferConfig<T>, occupancy?: BufferOccupancy) {
    this.capacity = config.capacity;
    this.policy = config.overflow;
    this.onOverflow = config.onOverflow;
    this.extra = occupancy?.extra;
    this.ring = new Ring<T>(Math.min(config.capacity, 16));
  }

  /** Messages discarded by `'drop'` or `'replace'`. */
  get dropped(): number {
    return this.discarded;
  }

  /** Messages in the ring (not counting `extra` occupancy). */
  get size(): number {
    return this.ring.size;
  }

  /** Whether the ring and the `extra` occupancy together reach `capacity`. */
  get isFull(): boolean {
    const held = this.ring.size;
    return (this.extra === undefined ? held : held + this.extra()) >= this.capacity;
  }

  /** Adds a message if there is room, else applies the policy. */
  offer(value: T): Offer {
    if (!this.isFull) {
      this.ring.push(value);
      return 'accepted';
    }
    return this.overflow(value);
  }

  /**
   * Applies the policy to a message that does not fit. `'drop'` discards it. `'replace'` takes
   * the victim out with `evict` (by default the oldest message in the ring), puts the message
   * in its place with `place` (by default at the end of the ring) and discards the victim; when
   * `evict` finds none (`NO_VICTIM`) the incoming message is discarded as under `'drop'` (an
   * `evict` may throw instead, before anything is counted). A discarded message is counted,
   * then reported to `onOverflow` once the buffer is consistent again; an exception from
   * `onOverflow` propagates. `'block'` and `'error'` return `'full'`: the caller waits or fails.
   */
  overflow(value: T, place?: (value: T) => void, evict?: () => T | typeof NO_VICTIM): Offer {
    switch (this.policy) {
      case 'drop':
        this.discarded++;
        this.onOverflow?.(value, 'drop');
        return 'dropped';
      case 'replace': {
        const victim =
          evict !== undefined ? evict() : this.ring.size > 0 ? this.ring.shift() : NO_VICTIM;
        this.discarded++;
        if (victim === NO_VICTIM) {
          this.onOverflow?.(value, 'drop');
          return 'dropped';
        }
        if (place !== undefined) place(value);
        else this.ring.push(value);
        this.onOverflow?.(victim, 'replace');
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
