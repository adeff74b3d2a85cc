import {
  type Observable,
  type Observer,
  type SchedulerLike,
  type Subscriber,
  Subscription,
} from 'rxjs';
import {
  type ConsumerFailure,
  type Demand,
  isPullable,
  pull,
  type Sink,
  wantsReadAhead,
} from './demand.js';
import { Ring } from './ring.js';
import { type Room, withLink } from './roomLink.js';
import { checkCapacity, checkDuration, checkFunction, checkScheduler } from './validate.js';

/**
 * Machinery shared by `atLeastOnce`, `dedupe` and `idempotent` (like RxJS's
 * `mergeInternals.ts`). Nothing here is exported from the package.
 */

/**
 * An Observer that is also a Subscription. RxJS hands such an object to the source as the
 * subscriber itself instead of wrapping it, so a synchronous source sees `closed` turn true
 * as soon as the consumer lets go, even before its `subscribe` call returned: a synchronous
 * firehose followed by `take(n)` stops after n values. Calls after the end, or after
 * `unsubscribe()`, are ignored.
 */
export class Intake<T> extends Subscription implements Observer<T> {
  private stopped = false;

  constructor(
    private readonly onNext: (value: T) => void,
    private readonly onError: (error: unknown) => void,
    private readonly onComplete: () => void,
  ) {
    super();
  }

  next(value: T): void {
    if (!this.stopped && !this.closed) this.onNext(value);
  }

  error(error: unknown): void {
    if (this.stopped || this.closed) return;
    this.stopped = true;
    try {
      this.onError(error);
    } finally {
      this.unsubscribe();
    }
  }

  complete(): void {
    if (this.stopped || this.closed) return;
    this.stopped = true;
    try {
      this.onComplete();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Where `idempotent`'s messages come from: a push subscription, or a pull subscription when
 * the source is a sluice pull source (channel receiver, `fromIterable`, ...). Created first,
 * started second, so that the operator can hold the feed (to cancel it or to request more)
 * while a synchronous source is still emitting from inside `start`.
 *
 * Why not `BoundedStage` (which `atLeastOnce` uses): `idempotent` must see every push message
 * on arrival, to answer a remembered key at once and to attach a copy of a running key to
 * its run, and its capacity counts those attached copies beside the messages waiting for a
 * slot ('replace' evicts only the latter). A stage hands over a message only on demand and
 * applies its policy to its own buffer alone, so the operator keeps its own waiting line.
 */
export class Feed<T> {
  /** True when the source is a sluice pull source: values arrive only as requested. */
  readonly pulled: boolean;
  private cancelled = false;
  private demand: Demand | undefined;
  private intake: Intake<T> | undefined;

  constructor(
    private readonly source: Observable<T>,
    private readonly subscriber: Pick<Subscriber<unknown>, 'add'>,
    private readonly sink: Sink<T>,
  ) {
    this.pulled = isPullable<T>(source) && !wantsReadAhead(source);
  }

  /**
   * Subscribes. The intake is tied to the operator's subscriber before the source starts, so
   * an unsubscribe during a synchronous emission stops the source. A pull source is opened
   * with zero demand (the operator then requests); a push source is subscribed with `room`
   * published as the current room link, so a sluice stage reached through synchronous RxJS
   * operators produces only what fits. A working stage (a pool) is subscribed that way too:
   * the room lets it work up to `capacity` ahead.
   */
  start(room: Room): void {
    const { source, subscriber, sink } = this;
    if (this.pulled && isPullable<T>(source)) {
      subscriber.add(() => this.cancel());
      if (this.cancelled) return;
      this.demand = source[pull]({
        next: (value) => {
          if (!this.cancelled) sink.next(value);
        },
        error: (error) => {
          if (this.cancelled) return;
          this.cancelled = true;
          sink.error(error);
        },
        complete: () => {
          if (this.cancelled) return;
          this.cancelled = true;
          sink.complete();
        },
      });
      return;
    }
    const intake = new Intake<T>(
      (value) => sink.next(value),
      (error) => sink.error(error),
      () => sink.complete(),
    );
    this.intake = intake;
    subscriber.add(intake);
    if (this.cancelled) intake.unsubscribe();
    withLink(room, () => source.subscribe(intake));
  }

  /**
   * Graceful end: a pull source that supports it is asked to stop (what it holds still
   * arrives, then it completes) and `true` is returned; otherwise the intake is cancelled and
   * `false` says that no completion will come.
   */
  stop(): boolean {
    if (this.cancelled) return false;
    if (this.demand?.stop !== undefined) {
      this.demand.stop();
      return true;
    }
    this.cancel();
    return false;
  }

  /** Asks a pull source for `n` more values; a no-op for a push source. */
  request(n: number): void {
    if (!this.cancelled && n > 0) this.demand?.request(n);
  }

  /** Stops the intake; nothing more arrives. */
  /** Set when the operator failed (or its consumer did): a pull source is told on cancel. */
  failure: ConsumerFailure | undefined;

  cancel(failure: ConsumerFailure | undefined = this.failure): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.demand?.cancel(failure);
    this.intake?.unsubscribe();
  }
}

/**
 * An AbortSignal created only when someone reads it: most deliveries never look at their
 * signal, and an AbortController per attempt is the single largest cost of a fast ack.
 */
export class LazySignal {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the signal (now, or at once when it is first read). Only the first call counts. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Keys remembered for at most `ttl` milliseconds and at most `maxKeys` at once, oldest first
 * out. A `Map` finds a key; two rings hold the same keys and the times they were remembered,
 * in insertion (hence time) order, so the oldest is always at the front: expiry looks only at
 * the front (amortised O(1): each key is removed once) and eviction removes the front. No
 * object per key, no timers: expiry is checked against the scheduler's clock whenever the
 * window is used.
 *
 * Why not the `Map`'s own insertion order: V8 leaves a deleted entry as a hole until the table
 * is rebuilt, and iteration walks over the holes, so asking a Map that is used as a FIFO for
 * its first key costs up to `maxKeys` steps (measured: 20 µs per message at 100k keys).
 */
export class KeyWindow<K, V> {
  private readonly values = new Map<K, V>();
  private keys = new Ring<K>(16);
  private times = new Ring<number>(16);
  /** Keys removed because `maxKeys` was reached, before their TTL ran out. */
  evicted = 0;

  constructor(
    readonly ttl: number,
    readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.values.size;
  }

  /** Forgets every key whose TTL has run out at `now`. */
  expire(now: number): void {
    if (this.ttl === Number.POSITIVE_INFINITY) return;
    const { keys, times } = this;
    while (times.size > 0 && now - times.peek() >= this.ttl) {
      times.shift();
      this.values.delete(keys.shift());
    }
  }

  /** Whether `key` is remembered; call `expire` first. */
  has(key: K): boolean {
    return this.values.has(key);
  }

  /** The value remembered with `key`; call `has` first (a `V` may be `undefined`). */
  get(key: K): V | undefined {
    return this.values.get(key);
  }

  /**
   * Remembers `key` from `now`, forgetting the oldest key beyond `maxKeys`. A key already
   * remembered only gets the new value: it keeps its place and its time.
   */
  set(key: K, value: V, now: number): void {
    const { values } = this;
    if (values.has(key)) {
      values.set(key, value);
      return;
    }
    values.set(key, value);
    this.keys.push(key);
    this.times.push(now);
    if (values.size > this.maxKeys) {
      this.times.shift();
      values.delete(this.keys.shift());
      this.evicted++;
    }
  }

  clear(): void {
    this.values.clear();
    this.keys = new Ring<K>(16);
    this.times = new Ring<number>(16);
  }
}

/** Defaults shared by `dedupe` and `idempotent`. */
export const DEFAULT_TTL = 5 * 60_000;
export const DEFAULT_MAX_KEYS = 10_000;

/** The validated `{ key, ttl, maxKeys, scheduler }` options of `dedupe` and `idempotent`. */
export interface WindowConfig<T, K> {
  readonly key: (message: T) => K;
  readonly ttl: number;
  readonly maxKeys: number;
  readonly scheduler: SchedulerLike | undefined;
}

export function windowConfig<T, K>(
  where: string,
  opts: {
    readonly key?: unknown;
    readonly ttl?: unknown;
    readonly maxKeys?: unknown;
    readonly scheduler?: unknown;
  },
): WindowConfig<T, K> {
  const key =
    checkFunction<(message: T) => K>(where, 'key', opts.key, true) ??
    ((message: T) => message as unknown as K);
  return {
    key,
    ttl: opts.ttl === undefined ? DEFAULT_TTL : checkDuration(where, 'ttl', opts.ttl, true),
    maxKeys:
      opts.maxKeys === undefined ? DEFAULT_MAX_KEYS : checkCapacity(where, 'maxKeys', opts.maxKeys),
    scheduler: checkScheduler<SchedulerLike>(where, opts.scheduler),
  };
}
