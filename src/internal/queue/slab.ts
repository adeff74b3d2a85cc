/**
 * Every message the queue remembers, by slot: a message's `tag` is `<slot>.<seq>`, so a receipt
 * or a generated id finds its message with an array read. Freed slots are reused first freed,
 * first reused, so a finished message still answers for its old receipts for a while.
 * @module
 */
import { Ring } from '../ring.js';
import { DEAD, type QueueMessage } from './message.js';

export class Slab<T> {
  private readonly slots: Array<QueueMessage<T> | undefined> = [];
  private free = new Ring<number>(16);

  /** Slots held (free or not): 0 once an idle queue let its peak backlog go. */
  get size(): number {
    return this.slots.length;
  }

  /** The message in `slot` (a number parsed from a tag), if any. */
  at(slot: number): QueueMessage<T> | undefined {
    return this.slots[slot];
  }

  /** Gives the message a slot and its tag. */
  add(message: QueueMessage<T>): void {
    const slot = this.free.size > 0 ? this.free.shift() : this.slots.length;
    message.slot = slot;
    message.tag = `${slot}.${message.seq}`;
    this.slots[slot] = message;
  }

  /** The message left the queue and its window: its slot may be reused, unless it is a dead letter. */
  release(message: QueueMessage<T>): void {
    if (message.state === DEAD || message.freed) return;
    message.freed = true;
    this.free.push(message.slot);
    // Every slot free after a burst: let the slab (and the messages it still points to for
    // naming old receipts) go, so an idle queue holds nothing of its peak backlog.
    if (this.free.size === this.slots.length && this.slots.length > 1024) {
      this.slots.length = 0;
      this.free = new Ring<number>(16);
    }
  }
}
