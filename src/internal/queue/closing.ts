/**
 * The queue's close: a promise settled once, when the last lease ended or the grace period
 * released the rest.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import { type Scheduled, scheduleAt } from '../deadlineTimer.js';

export interface Closed {
  /** Leases released when the grace period ended. */
  readonly released: number;
}

export class Closing {
  private promise: Promise<Closed> | undefined = undefined;
  private resolve: ((result: Closed) => void) | undefined = undefined;
  private graceTimer: Scheduled | undefined = undefined;
  /** Settled: every lease ended or was released. */
  finalized = false;

  /** `close()` was called and has not finished. */
  get pending(): boolean {
    return this.promise !== undefined && !this.finalized;
  }

  /** The close in progress, if any. */
  get current(): Promise<Closed> | undefined {
    return this.promise;
  }

  /** Starts closing: the promise `finish` settles. */
  start(): Promise<Closed> {
    this.promise = new Promise<Closed>((resolve) => {
      this.resolve = resolve;
    });
    return this.promise;
  }

  /** Calls `onGraceEnd` at `until` unless the close finished before. */
  graceUntil(scheduler: SchedulerLike, until: number, onGraceEnd: () => void): void {
    this.graceTimer = scheduleAt(scheduler, until, () => {
      this.graceTimer = undefined;
      if (!this.finalized) onGraceEnd();
    });
  }

  /** Settles the close once; returns false if it already was. */
  finish(released: number): boolean {
    if (this.finalized) return false;
    this.finalized = true;
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
    this.resolve?.({ released });
    return true;
  }
}
