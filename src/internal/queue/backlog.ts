/**
 * The queue's messages that are not in flight: the visible line (by priority), the messages a
 * consumer just gave back, those waiting behind their group's head, and the delayed ones (a
 * min-heap by due time, one timer for the earliest).
 * @module
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { DeadlineTimer } from '../deadlineTimer.js';
import { Heap } from '../heap.js';
import { Ring } from '../ring.js';
import { MessageGroups } from './groups.js';
import { DELAYED, GROUPED, type QueueMessage, VISIBLE } from './message.js';
import { PriorityLine } from './priorityLine.js';

export class Backlog<T> {
  /**
   * Higher priority first, first in first out within a priority. New messages join at the back
   * of their priority; so do messages whose lease ended unsuccessfully and delayed messages that
   * came due. Only the front is ever removed.
   */
  readonly visible = new PriorityLine<QueueMessage<T>>();
  readonly groups = new MessageGroups<QueueMessage<T>>();
  /**
   * Messages a consumer just gave back (release, nack without delay): they join `visible` on
   * the next scheduler turn, so a consumer that gives every delivery back cannot get it again
   * in the same turn forever and starve the event loop. Explicit pulls (`dequeue`, `receive`)
   * see them at once.
   */
  readonly returned = new Ring<QueueMessage<T>>(4);
  private returnTask: Subscription | undefined = undefined;
  readonly delayed = new Heap<QueueMessage<T>>();
  private readonly delayTimer: DeadlineTimer;

  constructor(
    private readonly scheduler: SchedulerLike,
    /** The delay timer fired. */
    onDue: () => void,
    /** Returned messages joined the visible line on their own turn. */
    private readonly onReturned: () => void,
  ) {
    this.delayTimer = new DeadlineTimer(scheduler, onDue);
  }

  /** Visible, returned and delayed: what counts against capacity besides the leases. */
  get size(): number {
    return this.visible.size + this.returned.size + this.delayed.size + this.groups.waiting;
  }

  /** When the next delayed message is due, Infinity when none. */
  get nextDue(): number {
    return this.delayed.minKey();
  }

  /** The message is ready: at the back of the visible line. */
  show(message: QueueMessage<T>): void {
    message.state = VISIBLE;
    this.visible.push(message);
  }

  /**
   * The message is ready for the first time (enqueued, come due, redriven): visible, unless it
   * must wait behind the head of its group.
   */
  enter(message: QueueMessage<T>): void {
    if (message.group === undefined || this.groups.enter(message, message.group)) {
      this.show(message);
    } else {
      message.state = GROUPED;
    }
  }

  /** The message left the queue: the next of its group, if it headed one, is visible now. */
  leave(message: QueueMessage<T>): void {
    const next = this.groups.leave(message, message.group as string);
    if (next !== undefined) this.show(next);
  }

  /** Hidden until `due`. `order` breaks ties: first delayed, first due. */
  delay(message: QueueMessage<T>, due: number, order: number, now: number): void {
    message.state = DELAYED;
    message.heapHandle = this.delayed.push(message, due, order);
    if (due < this.delayTimer.firesAt) this.delayTimer.arm(due, now);
  }

  /** The next delayed message, if it is due by `now`, taken off the heap (still `DELAYED`). */
  takeDue(now: number): QueueMessage<T> | undefined {
    if (this.delayed.minKey() > now) return undefined;
    const message = this.delayed.pop()!;
    message.heapHandle = -1;
    return message;
  }

  /** Given back by a consumer: visible on the next scheduler turn (at once to explicit pulls). */
  returnLater(message: QueueMessage<T>, closed: boolean): void {
    message.state = VISIBLE;
    this.returned.push(message);
    if (this.returnTask !== undefined || closed) return;
    this.returnTask = this.scheduler.schedule(() => {
      this.returnTask = undefined;
      this.flushReturned();
      this.onReturned();
    }, 0);
  }

  /** Returned messages join the visible line (behind what is visible now). */
  flushReturned(): void {
    const returned = this.returned;
    while (returned.size > 0) this.visible.push(returned.shift());
  }

  /** Arms the delay timer for the next due message; none once `closed`. */
  armDelayed(now: number, closed: boolean): void {
    if (closed) this.delayTimer.cancel();
    else this.delayTimer.arm(this.delayed.minKey(), now);
  }

  /** Close: no more timers; returned messages are visible again. */
  close(): void {
    this.delayTimer.cancel();
    this.returnTask?.unsubscribe();
    this.returnTask = undefined;
    this.flushReturned();
  }
}
