/**
 * The queue's leases: the messages in flight in a min-heap by deadline, the one timer armed
 * for the earliest, the receipts that name each delivery, and who to tell when `close()`
 * releases one.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { ReceiptRejection } from '../../receiptRejection.js';
import { DeadlineTimer } from '../deadlineTimer.js';
import { Heap } from '../heap.js';
import { reportUnhandledError } from '../reportUnhandledError.js';
import { ACKED, ENDED_EXPIRED, IN_FLIGHT, type QueueMessage } from './message.js';

/**
 * Leases in flight. A receipt is `<tag>:<delivery>:<queue name><secret>`: resolving one is an
 * array read (the slot in the tag) and one exact string comparison, with no hashing.
 */
export class Leases<T> {
  private readonly heap = new Heap<QueueMessage<T>>();
  private readonly timer: DeadlineTimer;
  /** receipt → callback (`watchRelease`). */
  private readonly watchers = new Map<string, () => void>();

  constructor(scheduler: SchedulerLike, onDue: () => void) {
    this.timer = new DeadlineTimer(scheduler, onDue);
  }

  get size(): number {
    return this.heap.size;
  }

  /** The earliest deadline, Infinity when none. */
  get next(): number {
    return this.heap.minKey();
  }

  /** The order ticket of the earliest lease. */
  get nextOrder(): number {
    return this.heap.minOrder();
  }

  /** Starts a lease on `message` until `deadline` with the given receipt. */
  add(
    message: QueueMessage<T>,
    deadline: number,
    order: number,
    receipt: string,
    now: number,
  ): void {
    message.deadline = deadline;
    message.receipt = receipt;
    message.heapHandle = this.heap.push(message, deadline, order);
    if (deadline < this.timer.firesAt) this.arm(now);
  }

  /** Ends the lease on `message` (ack, nack, release): its receipt means nothing any more. */
  end(message: QueueMessage<T>): void {
    this.heap.remove(message.heapHandle);
    message.heapHandle = -1;
    this.forget(message);
  }

  /** Moves the deadline of `message`'s lease. */
  extend(message: QueueMessage<T>, deadline: number, now: number): void {
    this.heap.update(message.heapHandle, deadline);
    message.deadline = deadline;
    if (deadline < this.timer.firesAt) this.arm(now);
  }

  /** Takes the earliest lease off the heap (its deadline passed, or close releases it). */
  pop(): QueueMessage<T> | undefined {
    const message = this.heap.pop();
    if (message === undefined) return undefined;
    message.heapHandle = -1;
    this.forget(message);
    return message;
  }

  arm(now: number): void {
    this.timer.arm(this.heap.minKey(), now);
  }

  cancelTimer(): void {
    this.timer.cancel();
  }

  /** The lease ended: nobody watches its receipt any more. */
  forget(message: QueueMessage<T>): void {
    if (this.watchers.size > 0 && message.receipt !== undefined) {
      this.watchers.delete(message.receipt);
    }
    message.receipt = undefined;
  }

  /** Tells `onReleased` when close() releases the lease of `receipt`. */
  watch(receipt: string, onReleased: () => void): () => void {
    this.watchers.set(receipt, onReleased);
    return () => {
      if (this.watchers.get(receipt) === onReleased) this.watchers.delete(receipt);
    };
  }

  /**
   * Takes every lease off the heap (close's grace is over), calling `each` on every message,
   * then tells the watchers; returns how many there were.
   */
  releaseAll(each: (message: QueueMessage<T>) => void): number {
    let count = 0;
    const told: Array<() => void> = [];
    for (let message = this.heap.pop(); message !== undefined; message = this.heap.pop()) {
      const watcher = message.receipt && this.watchers.get(message.receipt);
      if (watcher) told.push(watcher);
      message.heapHandle = -1;
      message.receipt = undefined;
      each(message);
      count++;
    }
    this.watchers.clear();
    for (const onReleased of told) {
      try {
        onReleased();
      } catch (error) {
        reportUnhandledError(error);
      }
    }
    return count;
  }
}

/**
 * Why `receipt` is not the current lease of `message` (which it names by its tag): a receipt of
 * an earlier delivery is `'stale'`, one of the latest delivery says how that lease ended, and
 * anything else is `'unknown'`.
 */
export function rejectReceipt(
  message: QueueMessage<unknown>,
  receipt: string,
  name: string,
  secretLength: number,
): ReceiptRejection {
  const parts = receipt.split(':');
  if (
    parts.length !== 3 ||
    parts[0] !== message.tag ||
    !/^[1-9][0-9]*$/.test(parts[1]!) ||
    parts[2]!.length !== name.length + secretLength ||
    !parts[2]!.startsWith(name)
  ) {
    return 'unknown';
  }
  const n = Number(parts[1]);
  if (n > message.deliveries) return 'unknown';
  if (n < message.deliveries) return 'stale';
  // The current delivery's number with another secret: not a receipt this queue gave out.
  if (message.state === IN_FLIGHT) return 'unknown';
  if (message.state === ACKED) return 'acked';
  return message.lastEnd === ENDED_EXPIRED ? 'expired' : 'released';
}
