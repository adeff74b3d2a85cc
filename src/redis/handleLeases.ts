/**
 * The leases one `RedisQueue` handle handed out, and how `close()` waits for them (internal to
 * `sluice/redis`): settled within the grace period, or released when it ends.
 * @module
 */
import { type SchedulerLike, Subject } from 'rxjs';
import type { CloseResult } from 'sluice';
import { scheduleAt as timerAt } from '../internal/deadlineTimer.js';
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
  private closing: Promise<CloseResult> | undefined = undefined;
  private closeResolve: ((result: CloseResult) => void) | undefined = undefined;
  private graceTimer: { cancel(): void } | undefined = undefined;
  private done = false;
  /** Emits once, when the close finished. */
  readonly finished = new Subject<void>();

  constructor(private readonly host: HandleLeasesHost) {}

  /** True once the close finished: no lease of this handle is left. */
  get finalized(): boolean {
    return this.done;
  }

  /** The promise of the close under way, if any. */
  get pending(): Promise<CloseResult> | undefined {
    return this.closing;
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
    if (this.leases.size === 0 && this.closing !== undefined && !this.done) this.finalize(0);
  }

  /** Starts the close: the promise resolves when no lease of this handle is left. */
  begin(): Promise<CloseResult> {
    this.closing ??= new Promise<CloseResult>((resolve) => {
      this.closeResolve = resolve;
    });
    return this.closing;
  }

  /** Gives the leases `grace` ms to be settled, then releases the rest. */
  settle(grace: number): void {
    if (this.leases.size === 0) this.finalize(0);
    else if (grace === 0) void this.releaseAll();
    else this.armGrace(this.host.scheduler.now() + grace);
  }

  /** Waits until the grace ends or every lease of this handle has run out, whichever is first. */
  private armGrace(until: number): void {
    const sched = this.host.scheduler;
    const at = Math.min(until, this.latest());
    this.graceTimer = timerAt(sched, at, () => {
      this.graceTimer = undefined;
      if (this.done) return;
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
    if (this.done) return;
    this.done = true;
    this.graceTimer?.cancel();
    this.finished.next();
    this.finished.complete();
    this.closeResolve?.({ released });
  }
}
