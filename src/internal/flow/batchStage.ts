import type { Observable, SchedulerLike } from 'rxjs';
import { DeadlineTimer } from '../deadlineTimer.js';
import type { ConsumerFailure, Demand, Sink } from '../demand.js';
import type { BufferConfig } from '../policyBuffer.js';
import { Ring } from '../ring.js';
import { hideLink, restoreLink } from '../roomLink.js';
import { openUpstream } from './openUpstream.js';

/** Everything a `batch` subscription needs, validated once by the operator. */
export interface BatchPlan<T> {
  readonly where: string;
  readonly size: number;
  readonly time: number;
  readonly buffer: BufferConfig<T>;
  readonly scheduler: SchedulerLike;
}

/**
 * One subscription of `batch`: a `Demand` of arrays for its consumer over one upstream.
 *
 * One batch fills at a time. It is sealed when it reaches `size`, when `time` has passed since
 * its first message, or when the upstream ends; a sealed batch leaves at once if the consumer
 * asked for one, else it waits (sealed, so it grows no further) for the consumer's request. The
 * upstream is asked for messages only to fill the batch being assembled, and only while no
 * sealed batch waits: at most one batch ahead of the consumer's demand, so a slow consumer
 * holds the upstream back instead of collecting batches (the fault of an unbounded
 * `bufferTime`).
 */
export class BatchStage<T> implements Demand<T[]> {
  private credit = 0;
  private up: Demand<T> | undefined;
  /** Requested upstream and not yet received. */
  private outstanding = 0;
  private current: T[] = [];
  /** Sealed batches waiting for the consumer's demand. */
  private readonly ready = new Ring<T[]>(2);
  private upDone = false;
  private upFailure: { readonly error: unknown } | undefined;
  private done = false;
  /** True while a batch is handed to the consumer: the loop around it carries on after. */
  private emitting = false;
  private readonly timer: DeadlineTimer;
  /** When the batch being assembled must leave. */
  private deadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly source: Observable<T>,
    private readonly plan: BatchPlan<T>,
    private readonly sink: Sink<T[]>,
  ) {
    this.timer = new DeadlineTimer(plan.scheduler, () => {
      const now = plan.scheduler.now();
      if (now < this.deadline) {
        this.timer.arm(this.deadline, now); // a clamped step of a very long `time`
        return;
      }
      this.seal();
      this.pump();
    });
  }

  request(n: number): void {
    if (this.done) return;
    this.credit += n;
    if (this.up === undefined) {
      this.up = openUpstream(
        this.source,
        this.plan.buffer,
        {
          next: (value) => this.onValue(value),
          error: (error: unknown) => this.onEnd({ error }),
          complete: () => this.onEnd(undefined),
        },
        this.plan.where,
      );
    }
    this.pump();
  }

  cancel(failure?: ConsumerFailure): void {
    if (this.done) return;
    this.done = true;
    this.timer.cancel();
    this.current = [];
    this.ready.drain();
    this.up?.cancel(failure);
  }

  /** Graceful drain: nothing new is taken upstream; what is held leaves, then completion. */
  stop(): void {
    if (this.done || this.upDone) return;
    const up = this.up;
    if (up?.stop !== undefined) {
      up.stop();
      return;
    }
    up?.cancel();
    this.onEnd(undefined);
  }

  private onValue(value: T): void {
    if (this.done) return;
    this.outstanding--;
    const current = this.current;
    current.push(value);
    if (current.length === 1 && this.plan.time !== Number.POSITIVE_INFINITY) {
      const now = this.plan.scheduler.now();
      this.deadline = now + this.plan.time;
      this.timer.arm(this.deadline, now);
    }
    if (current.length >= this.plan.size) this.seal();
    this.pump();
  }

  private onEnd(failure: { readonly error: unknown } | undefined): void {
    if (this.done || this.upDone) return;
    this.upDone = true;
    this.upFailure = failure;
    this.seal();
    this.pump();
  }

  /** Closes the batch being assembled (if it holds anything) and queues it to leave. */
  private seal(): void {
    this.timer.cancel();
    if (this.current.length === 0) return;
    this.ready.push(this.current);
    this.current = [];
  }

  /**
   * Hands over sealed batches while the consumer wants them and asks for the messages of the
   * next, as a loop. It runs again inside an upstream request when messages arrive
   * synchronously (a compliant source only adds to its demand when asked again from there, so
   * this never recurses further); while a batch is handed to the consumer it does nothing, and
   * the loop around that hand-over carries on.
   */
  private pump(): void {
    if (this.emitting) return;
    const ready = this.ready;
    while (!this.done) {
      if (ready.size > 0) {
        if (this.credit <= 0) return;
        this.credit--;
        const link = hideLink();
        this.emitting = true;
        try {
          this.sink.next(ready.shift());
        } finally {
          this.emitting = false;
          restoreLink(link);
        }
        continue;
      }
      if (this.upDone) {
        this.done = true;
        const failure = this.upFailure;
        if (failure !== undefined) this.sink.error(failure.error);
        else this.sink.complete();
        return;
      }
      const want = this.plan.size - this.current.length - this.outstanding;
      if (want <= 0) return;
      this.outstanding += want;
      this.up?.request(want);
    }
  }
}
