/**
 * The leases one `RedisQueue` handle handed out, and how `close()` waits for them (internal to
 * `sluice/redis`): settled within the grace period, or released when it ends. The close itself
 * (its promise, the grace timer) is the queue family's one `Closing`, as in `MessageQueue`.
 * @module
 */
import { type SchedulerLike, Subject } from 'rxjs';
import type { CloseResult } from 'sluice';
import { Closing } from '../internal/queue/closing.js';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';

/** What the lease book needs from its queue handle. */
export interface HandleLeasesHost {
  readonly scheduler: SchedulerLike;
  /** Store clock minus scheduler clock. */
  offset(): number;
  /** Gives one lease back to the queue; resolves whether Redis took it back. */
  release(receipt: string): Promise<boolean>;
}

/**
 * Receipt → deadline (store clock) of every lease this handle handed out and has not seen end,
 * the callbacks `watchRelease` registered, and the close that waits for them.
 */
export class HandleLeases {
  private readonly leases = new Map<string, number>();
  /** Handlers to stop when close() releases their lease: receipt → callback (`watchRelease`). */
  private readonly releaseWatchers = new Map<string, () => void>();
  private readonly closing = new Closing();
  /** Emits once, when the close finished. */
  readonly finished = new Subject<void>();

  constructor(private readonly host: HandleLeasesHost) {}

  /** True once the close finished: no lease of this handle is left. */
  get finalized(): boolean {
    return this.closing.finalized;
  }

  /** The promise of the close under way, if any. */
  get pending(): Promise<CloseResult> | undefined {
    return this.closing.current;
  }

  /** How many leases this handle holds (handed out and not seen end). */
  get count(): number {
    return this.leases.size;
  }

  /** A delivery was handed out: its lease is this handle's until it ends. */
  leased(receipt: string, deadline: number): void {
    this.leases.set(receipt, deadline);
  }

  /** A live lease got a new deadline. */
  extended(receipt: string, deadline: number): void {
    if (this.leases.has(receipt)) this.leases.set(receipt, deadline);
  }

  /** Calls `onReleased` if the close releases `receipt`; returns the way to stop watching. */
  watch(receipt: string, onReleased: () => void): () => void {
    if (!this.leases.has(receipt)) return () => {};
    this.releaseWatchers.set(receipt, onReleased);
    return () => {
      if (this.releaseWatchers.get(receipt) === onReleased) this.releaseWatchers.delete(receipt);
    };
  }

  /** The lease ended (settled or refused): the close may be able to finish. */
  ended(receipt: string): void {
    this.releaseWatchers.delete(receipt);
    if (!this.leases.delete(receipt)) return;
    if (this.leases.size === 0 && this.closing.pending) this.finalize(0);
  }

  /** Starts the close: the promise resolves when no lease of this handle is left. */
  begin(): Promise<CloseResult> {
    return this.closing.current ?? this.closing.start();
  }

  /** Gives the leases `grace` ms to be settled, then releases the rest. */
  settle(grace: number): void {
    if (this.leases.size === 0) this.finalize(0);
    else if (grace === 0) void this.releaseAll();
    else this.armGrace(this.host.scheduler.now() + grace);
  }

  /**
   * Waits until the grace ends or every lease of this handle has run out, whichever is first
   * (a lease that ran out is another process's to take: holding the close for it helps no one).
   */
  private armGrace(until: number): void {
    const sched = this.host.scheduler;
    this.closing.graceUntil(sched, Math.min(until, this.latest()), () => {
      if (sched.now() < until && this.latest() > sched.now()) this.armGrace(until);
      else void this.releaseAll();
    });
  }

  /** The latest deadline of a lease of this handle, on the scheduler clock (0 when none). */
  private latest(): number {
    const offset = this.host.offset();
    let latest = 0;
    for (const deadline of this.leases.values()) latest = Math.max(latest, deadline - offset);
    return latest;
  }

  private async releaseAll(): Promise<void> {
    const receipts = Array.from(this.leases.keys());
    const told = Array.from(this.releaseWatchers.values());
    this.releaseWatchers.clear();
    for (const onReleased of told) {
      try {
        onReleased();
      } catch (error) {
        reportUnhandledError(error);
      }
    }
    const results = await Promise.all(
      receipts.map((receipt) => this.host.release(receipt).catch(() => false)),
    );
    this.leases.clear();
    this.finalize(results.filter(Boolean).length);
  }

  private finalize(released: number): void {
    if (!this.closing.finish(released)) return;
    this.finished.next();
    this.finished.complete();
  }
}
