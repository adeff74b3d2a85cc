/**
 * The long poll behind `RedisQueue.receive` (internal to `sluice/redis`): every waiting receive
 * of one handle is served by one loop of receive scripts.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { Delivery } from 'sluice';
import { type Scheduled, scheduleAt } from '../internal/deadlineTimer.js';
import { type Wait, WaitList } from '../internal/waiting/waitList.js';

/** The most deliveries one receive script leases (and the most one `receive` call returns). */
export const MAX_PASS = 1_000;

/** One run of the receive script. */
export interface Pass<T> {
  readonly deliveries: Delivery<T>[];
  /** Store-clock time of the next lease deadline or delay, or -1 (only when nothing came). */
  readonly nextDue: number;
  /** The newest entry of the stream, to block after (only when nothing came). */
  readonly lastId: string;
}

/** What the loop needs from its queue. */
export interface ReceiveHost<T> {
  readonly scheduler: SchedulerLike;
  readonly blockTime: number;
  readonly streamKey: string;
  /** Runs one receive script for up to `max` deliveries. */
  pass(max: number): Promise<Pass<T>>;
  /** A delivery is handed to a caller: its lease is this handle's now. */
  leased(delivery: Delivery<T>): void;
  /** Releases a delivery nobody will take (its caller aborted); failures leave it to expire. */
  giveBack(delivery: Delivery<T>): void;
  /** Store clock minus scheduler clock. */
  offset(): number;
  /** A connection of the loop's own for blocking reads. */
  duplicate(): {
    call(command: string, args: Array<string | number>): Promise<unknown>;
    disconnect(): void;
  };
}

interface Want {
  readonly max: number;
  /** Resolve with what the next pass brings, even nothing (`wait: 0`, or the wait ran out). */
  timedOut: boolean;
  timer: Scheduled | undefined;
}

type ReceiveWait<T> = Wait<Want, Delivery<T>[]>;

/**
 * Waiting receives in one abortable line, served in order by one loop: each turn is one
 * receive script for all of them (up to `MAX_PASS` deliveries), whose deliveries go to the
 * waiting calls first come, first served. While nothing is visible the loop waits on one
 * blocking `XREAD` on a connection of its own (woken by any new entry, from any process), a
 * timer for the next lease deadline or delay it knows of, and at least every `blockTime` ms;
 * so a thousand idle waiting receives cost one script call and one blocking read per
 * `blockTime`, not a thousand. A receive whose `wait` runs out while no script is on its way
 * resolves `[]` at once, without a script.
 */
export class ReceiveLoop<T> {
  private readonly waits = new WaitList<Want, Delivery<T>[]>((want) => this.left(want));
  private scheduled = false;
  private pumping = false;
  private again = false;
  private blocking = false;
  private closed = false;
  private waker: ReturnType<ReceiveHost<T>['duplicate']> | undefined = undefined;
  private dueTimer: Scheduled | undefined = undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private retryTimer: Scheduled | undefined = undefined;

  constructor(private readonly host: ReceiveHost<T>) {}

  /** Waits for up to `max` deliveries, `wait` ms at most (0: one look; Infinity: no limit). */
  receive(max: number, wait: number, signal: AbortSignal | undefined): Promise<Delivery<T>[]> {
    const want: Want = { max: Math.min(max, MAX_PASS), timedOut: wait === 0, timer: undefined };
    const entry = this.waits.wait(want, signal);
    if (wait > 0 && wait !== Number.POSITIVE_INFINITY) {
      const { scheduler } = this.host;
      want.timer = scheduleAt(scheduler, scheduler.now() + wait, () => {
        want.timer = undefined;
        want.timedOut = true;
        // With no script on its way, nothing can arrive for it before the next look.
        if (!this.pumping && !this.scheduled) entry.resolve([]);
      });
    }
    this.kick();
    return entry.promise;
  }

  /** Resolves every waiting receive with `[]`, stops the timers and the blocking read. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let wait = this.waits.peek(); wait !== undefined; wait = this.waits.peek()) {
      wait.entry.timer?.cancel();
      wait.resolve([]);
    }
    this.dueTimer?.cancel();
    this.retryTimer?.cancel();
    this.waker?.disconnect();
    this.waker = undefined;
  }

  /** Runs the loop soon (once for every call of this turn), or again after the pass on its way. */
  kick(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (!this.pumping) void this.pump();
      else this.again = true;
    });
  }

  /** An aborted receive left the line. */
  private left(want: Want): void {
    want.timer?.cancel();
    if (this.waits.size === 0) this.idle();
  }

  private idle(): void {
    this.dueTimer?.cancel();
    this.dueTimer = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  private settle(wait: ReceiveWait<T>, batch: Delivery<T>[]): void {
    wait.entry.timer?.cancel();
    for (const delivery of batch) this.host.leased(delivery);
    wait.resolve(batch);
  }

  /** Passes until a pass leaves someone waiting with nothing to give; then waits. */
  private async pump(): Promise<void> {
    this.pumping = true;
    let last: Pass<T> | undefined;
    try {
      do {
        this.again = false;
        last = undefined;
        let want = 0;
        for (let w = this.waits.peek(); w !== undefined && want < MAX_PASS; w = w.next) {
          want += w.entry.max;
        }
        if (want === 0 || this.closed) break;
        let pass: Pass<T>;
        try {
          pass = await this.host.pass(Math.min(want, MAX_PASS));
        } catch (error) {
          this.waits.rejectAll(() => error);
          break;
        }
        const got = pass.deliveries.length;
        let next = 0;
        for (let w = this.waits.peek(); w !== undefined; ) {
          const after: ReceiveWait<T> | undefined = w.next;
          if (next < got) {
            const take = Math.min(w.entry.max, got - next);
            this.settle(w, pass.deliveries.slice(next, next + take));
            next += take;
          } else if (w.entry.timedOut || this.closed) this.settle(w, []);
          w = after;
        }
        for (; next < got; next++) this.host.giveBack(pass.deliveries[next]!);
        // A full pass may have left more behind; one that brought something computed no
        // place to block after: look again for whoever still waits.
        if (got > 0) this.again = true;
        else last = pass;
      } while (this.again && this.waits.size > 0);
    } finally {
      this.pumping = false;
    }
    if (this.waits.size === 0 || this.closed) {
      this.idle();
      return;
    }
    if (last !== undefined) {
      this.armDue(last);
      this.block(last.lastId);
    }
  }

  /** A timer for the next lease deadline or delay the last pass saw. */
  private armDue(pass: Pass<T>): void {
    if (pass.nextDue < 0) return;
    const { scheduler } = this.host;
    const at = pass.nextDue - this.host.offset();
    if (at <= scheduler.now()) {
      // Already due (the clock moved while the script ran): look again now.
      this.kick();
      return;
    }
    if (this.dueTimer !== undefined && this.dueAt <= at) return;
    this.dueTimer?.cancel();
    this.dueAt = at;
    this.dueTimer = scheduleAt(scheduler, at, () => {
      this.dueTimer = undefined;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.kick();
    });
  }

  /** A blocking read on a connection of its own, woken by any entry after `lastId`. */
  private block(lastId: string): void {
    if (this.blocking || this.closed) return;
    this.blocking = true;
    const { blockTime, scheduler, streamKey } = this.host;
    this.waker ??= this.host.duplicate();
    this.waker.call('XREAD', ['COUNT', 1, 'BLOCK', blockTime, 'STREAMS', streamKey, lastId]).then(
      () => {
        this.blocking = false;
        if (this.waits.size > 0) this.kick();
      },
      () => {
        this.blocking = false;
        if (this.closed || this.waits.size === 0) return;
        // The connection failed: look again after blockTime (the receive scripts report a
        // lasting failure to the waiting receives).
        this.retryTimer?.cancel();
        this.retryTimer = scheduleAt(scheduler, scheduler.now() + blockTime, () => {
          this.retryTimer = undefined;
          this.kick();
        });
      },
    );
  }
}
