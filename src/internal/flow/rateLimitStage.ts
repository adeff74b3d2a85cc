import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import { BoundedStage } from '../boundedStage.js';
import { DeadlineTimer } from '../deadlineTimer.js';
import type { ConsumerFailure, Demand, Sink } from '../demand.js';
import type { BufferConfig } from '../policyBuffer.js';
import { hideLink, restoreLink, withLink } from '../roomLink.js';
import { describe } from '../validate.js';
import { openUpstream } from './openUpstream.js';
import { SlidingLog } from './slidingLog.js';

/** One validated window: a fixed or changing limit per `interval` ms, and an optional burst. */
export interface RateRule {
  readonly limit: number | Observable<number>;
  readonly interval: number;
  /** At most this much in any `interval * burst / limit` ms; undefined: no smoothing. */
  readonly burst: number | undefined;
}

/** Everything a `rateLimit` subscription needs, validated once by the operator. */
export interface RatePlan<T> {
  readonly where: string;
  readonly rules: readonly RateRule[];
  readonly cost: ((value: T) => number) | undefined;
  readonly buffer: BufferConfig<T>;
  readonly scheduler: SchedulerLike;
  /** The longest interval: releases older than this are forgotten. */
  readonly horizon: number;
}

/**
 * One subscription of `rateLimit`: a `Demand` for its consumer over one upstream.
 *
 * It holds at most one message of its own (the head, waiting for its time), and asks its
 * upstream for the next one only when the consumer wants one and every window has room for at
 * least one unit now, so a pull source is never drained ahead. Releases are recorded in a
 * `SlidingLog`; the head leaves at the earliest time at which every window (each limit, each
 * burst) stays within its allowance, found by binary search, and a single timer waits for it.
 * A limit given as an Observable pauses the stage until it has a value; 0 pauses it too.
 */
export class RateLimitStage<T> implements Demand<T> {
  private credit = 0;
  private up: Demand<T> | undefined;
  private outstanding = 0;
  private hasHead = false;
  private headValue: T | undefined;
  private headCost = 0;
  private upDone = false;
  private upFailure: { readonly error: unknown } | undefined;
  private done = false;
  /** True while a message is handed to the consumer: the loop around it carries on after. */
  private emitting = false;
  private readonly log = new SlidingLog();
  private readonly timer: DeadlineTimer;
  /** The limit in force per rule; NaN until a changing limit has its first value. */
  private readonly limits: number[];
  private limitSubs: Subscription[] | undefined;

  constructor(
    private readonly source: Observable<T>,
    private readonly plan: RatePlan<T>,
    private readonly sink: Sink<T>,
  ) {
    this.timer = new DeadlineTimer(plan.scheduler, () => this.pump());
    this.limits = plan.rules.map((rule) => (typeof rule.limit === 'number' ? rule.limit : NaN));
  }

  request(n: number): void {
    if (this.done) return;
    this.credit += n;
    const first = this.up === undefined;
    if (first) this.start();
    this.pump();
    // no unit was free to ask for the first message with: a push source is subscribed all the
    // same, so that what it sends meanwhile is buffered under the policy instead of missed
    const up = this.up;
    if (first && up instanceof BoundedStage && !this.done && this.outstanding === 0) up.request(0);
  }

  cancel(failure?: ConsumerFailure): void {
    if (this.done) return;
    this.done = true;
    this.hasHead = false;
    this.headValue = undefined;
    this.teardown();
    this.up?.cancel(failure);
  }

  /** Graceful drain: nothing new is taken upstream; what is held still leaves on its time. */
  stop(): void {
    if (this.done || this.upDone) return;
    const up = this.up;
    if (up?.stop !== undefined) {
      up.stop();
      return;
    }
    up?.cancel();
    this.upDone = true;
    this.pump();
  }

  private start(): void {
    const subs: Subscription[] = [];
    this.limitSubs = subs;
    this.plan.rules.forEach((rule, index) => {
      const limit = rule.limit;
      if (typeof limit === 'number') return;
      withLink(undefined, () =>
        subs.push(
          limit.subscribe({
            next: (value) => this.onLimit(index, value),
            error: (error: unknown) => this.fail(error),
            complete: () => {
              if (Number.isNaN(this.limits[index])) {
                this.fail(
                  new RangeError(`${this.plan.where}: limit completed without ever giving a value`),
                );
              }
            },
          }),
        ),
      );
    });
    if (this.done) return;
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

  private onLimit(index: number, value: number): void {
    if (this.done) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.fail(
        new RangeError(
          `${this.plan.where}: limit must be a whole number >= 0, got ${describe(value)}`,
        ),
      );
      return;
    }
    this.limits[index] = value;
    if (this.hasHead && this.tooCostly(this.headCost)) return;
    this.pump();
  }

  private onValue(value: T): void {
    if (this.done) return;
    this.outstanding--;
    let cost = 1;
    const costOf = this.plan.cost;
    if (costOf !== undefined) {
      try {
        cost = costOf(value);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0) {
        this.fail(
          new RangeError(
            `${this.plan.where}: cost(message) must return a whole number >= 0, got ${describe(cost)}`,
          ),
        );
        return;
      }
    }
    this.hasHead = true;
    this.headValue = value;
    this.headCost = cost;
    if (this.tooCostly(cost)) return;
    this.pump();
  }

  /** A message that costs more than a (positive) limit can never leave: fail loudly. */
  private tooCostly(cost: number): boolean {
    for (let i = 0; i < this.limits.length; i++) {
      const limit = this.limits[i]!;
      if (limit > 0 && cost > limit) {
        this.fail(
          new RangeError(
            `${this.plan.where}: cost(message) must be at most the limit (${limit}), got ${cost}`,
          ),
        );
        return true;
      }
    }
    return false;
  }

  private onEnd(failure: { readonly error: unknown } | undefined): void {
    if (this.done || this.upDone) return;
    this.upDone = true;
    this.upFailure = failure;
    this.pump();
  }

  /**
   * Releases what may leave now and asks for the next message, as a loop. It runs again inside
   * an upstream request when the message arrives synchronously (a compliant source only adds to
   * its demand when asked again from there, so this never recurses further); while a message
   * is handed to the consumer it does nothing, and the loop around that hand-over carries on.
   */
  private pump(): void {
    if (this.emitting) return;
    const scheduler = this.plan.scheduler;
    // one clock read per message: the check for the next one after a release reuses it (a
    // window only frees up as time passes, so a unit free then is free now)
    let now = scheduler.now();
    while (!this.done) {
      if (this.hasHead) {
        if (this.credit <= 0) return;
        const at = this.earliest(now, this.headCost);
        if (at > now) {
          this.timer.arm(at, now);
          return;
        }
        this.release(now);
        continue;
      }
      if (this.upDone) {
        this.finish();
        return;
      }
      if (this.credit <= 0 || this.outstanding > 0) return;
      const at = this.earliest(now, 1);
      if (at > now) {
        this.timer.arm(at, now);
        return;
      }
      this.outstanding = 1;
      this.up?.request(1);
      if (this.outstanding > 0) return; // the value comes later (its arrival pumps)
      now = scheduler.now();
    }
  }

  /** The earliest time at which a release of `cost` keeps every window within its allowance. */
  private earliest(now: number, cost: number): number {
    const { rules, horizon } = this.plan;
    const log = this.log;
    log.evict(now, horizon);
    let at = now;
    for (let i = 0; i < rules.length; i++) {
      const limit = this.limits[i]!;
      if (!(limit > 0)) return Number.POSITIVE_INFINITY; // paused, or no limit yet
      const rule = rules[i]!;
      if (cost === 0) continue;
      const t = log.earliest(now, rule.interval, limit, cost);
      if (t > at) at = t;
      const burst = rule.burst;
      if (burst !== undefined && burst < limit) {
        const b = log.earliest(now, (rule.interval * burst) / limit, Math.max(burst, cost), cost);
        if (b > at) at = b;
      }
    }
    return at;
  }

  private release(now: number): void {
    const value = this.headValue as T;
    const cost = this.headCost;
    this.hasHead = false;
    this.headValue = undefined;
    this.timer.cancel();
    if (cost > 0) this.log.record(now, cost);
    this.credit--;
    const link = hideLink();
    this.emitting = true;
    try {
      this.sink.next(value);
    } finally {
      this.emitting = false;
      restoreLink(link);
    }
  }

  private finish(): void {
    this.done = true;
    this.teardown();
    const failure = this.upFailure;
    if (failure !== undefined) this.sink.error(failure.error);
    else this.sink.complete();
  }

  private fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.hasHead = false;
    this.headValue = undefined;
    this.teardown();
    this.up?.cancel();
    this.sink.error(error);
  }

  private teardown(): void {
    this.timer.cancel();
    const subs = this.limitSubs;
    this.limitSubs = undefined;
    if (subs !== undefined) for (const sub of subs) sub.unsubscribe();
  }
}
