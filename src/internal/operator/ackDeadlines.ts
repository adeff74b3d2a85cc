import type { SchedulerLike } from 'rxjs';
import { DeadlineTimer } from '../deadlineTimer.js';

/** What an entry of the line carries: its deadline and its links, kept on the entry itself. */
export interface AwaitingAck<E> {
  /** When the ack is due, on the scheduler's clock. */
  deadline: number;
  /** In the line. */
  waiting: boolean;
  before: E | undefined;
  after: E | undefined;
}

/**
 * The line of attempts awaiting their ack, in deadline order, and the one timer that expires
 * them. Every attempt waits the same `ackTimeout` from its start and starts come in time order,
 * so adding at the tail keeps the line sorted: a priority queue with O(1) insert and removal,
 * no heap. One `DeadlineTimer`, armed for the earliest deadline, serves them all. When the
 * earliest entry leaves (acked), the timer is left armed: it finds nothing due and re-arms for
 * the new earliest, so a fast stream costs about one timer per `ackTimeout`, not one per
 * message.
 *
 * An entry whose deadline is the current instant is expired only in a second pass scheduled
 * after the other events of that instant: an ack at the deadline still counts.
 */
export class AckDeadlines<E extends AwaitingAck<E>> {
  private head: E | undefined;
  private tail: E | undefined;
  private readonly timer: DeadlineTimer;
  private sweeping = false;
  /** The instant whose second, final pass is scheduled. */
  private finalPassAt = Number.NaN;

  constructor(
    private readonly scheduler: SchedulerLike,
    /** Called for each entry past its deadline, after it left the line. */
    private readonly onExpired: (entry: E) => void,
    /** True once the stage has ended: nothing more expires and nothing is armed. */
    private readonly isOver: () => boolean,
  ) {
    this.timer = new DeadlineTimer(scheduler, this.sweep);
  }

  /** Adds an entry whose `deadline` is set and no earlier than any deadline in the line. */
  add(entry: E): void {
    entry.waiting = true;
    entry.before = this.tail;
    if (this.tail !== undefined) this.tail.after = entry;
    else this.head = entry;
    this.tail = entry;
    if (this.timer.firesAt === Number.POSITIVE_INFINITY && !this.sweeping) this.arm();
  }

  /** Takes an entry out of the line, if it is in it. */
  remove(entry: E): void {
    if (!entry.waiting) return;
    entry.waiting = false;
    if (entry.before !== undefined) entry.before.after = entry.after;
    else this.head = entry.after;
    if (entry.after !== undefined) entry.after.before = entry.before;
    else this.tail = entry.before;
    entry.before = entry.after = undefined;
  }

  /** Stops the timer (the stage ended); the entries are the stage's to cancel. */
  cancel(): void {
    this.timer.cancel();
  }

  private arm(): void {
    const head = this.head;
    if (head === undefined || this.isOver()) return;
    const now = this.scheduler.now();
    if (head.deadline <= now) this.finalPassAt = now;
    // DeadlineTimer clamps the delay: a deadline further than a timer can wait is reached in
    // steps, each finding nothing due and re-arming.
    this.timer.arm(head.deadline, now);
  }

  private readonly sweep = (): void => {
    const now = this.scheduler.now();
    const final = this.finalPassAt === now;
    this.finalPassAt = Number.NaN;
    this.sweeping = true;
    try {
      while (this.head !== undefined && !this.isOver()) {
        const entry = this.head;
        if (entry.deadline > now || (entry.deadline === now && !final)) break;
        this.remove(entry);
        this.onExpired(entry);
      }
    } finally {
      this.sweeping = false;
    }
    this.arm();
  };
}
