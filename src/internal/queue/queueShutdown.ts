/**
 * The cold end of the in-memory queue engine: `close(grace)` stops new work at once, then
 * settles when the last lease ended or the grace period released the rest back to the queue.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { Backlog } from './backlog.js';
import { type Closed, Closing } from './closing.js';
import type { QueueCounters } from './counters.js';
import type { Leases } from './leases.js';
import { ENDED_RELEASED, VISIBLE } from './message.js';

/** What the shutdown needs of the engine: its parts, and two steps only the engine can take. */
export interface ShutdownParts<T> {
  readonly scheduler: SchedulerLike;
  readonly leases: Leases<T>;
  readonly backlog: Backlog<T>;
  readonly count: QueueCounters;
  /** Marks the engine closed and turns away waiting senders and consumers. */
  readonly stop: () => void;
  /** The close is settled: end what outlives the queue (the dead-letter stream). */
  readonly done: () => void;
}

/** Closes one queue engine, once; see the module summary. */
export class QueueShutdown<T> {
  private readonly closing = new Closing();

  constructor(private readonly parts: ShutdownParts<T>) {}

  /** `close()` was called and has not finished: the last lease to end finishes it. */
  get pending(): boolean {
    return this.closing.pending;
  }

  close(grace: number): Promise<Closed> {
    const current = this.closing.current;
    if (current !== undefined) return current;
    const { scheduler, leases, backlog } = this.parts;
    const closing = this.closing.start();
    this.parts.stop();
    backlog.close();
    if (leases.size === 0) {
      this.finalize(0);
    } else if (grace === 0) {
      this.releaseAll();
    } else if (grace !== Number.POSITIVE_INFINITY) {
      const until = scheduler.now() + grace;
      this.closing.graceUntil(scheduler, until, () => this.releaseAll());
    }
    return closing;
  }

  /** The grace period is over: every lease goes back to the queue, its attempt not counted. */
  private releaseAll(): void {
    const { backlog, count } = this.parts;
    const released = this.parts.leases.releaseAll((message) => {
      message.lastEnd = ENDED_RELEASED;
      message.attempts--;
      message.state = VISIBLE;
      backlog.visible.push(message);
      count.released++;
    });
    this.finalize(released);
  }

  /** Settles the close once: no timer is left, the dead-letter stream completes. */
  finalize(released: number): void {
    if (!this.closing.finish(released)) return;
    this.parts.leases.cancelTimer();
    this.parts.backlog.close();
    this.parts.done();
  }
}
