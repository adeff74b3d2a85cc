import { type Observable, Subscriber } from 'rxjs';
import { ChannelFullError } from '../errors.js';
import {
  type ConsumerFailure,
  type Demand,
  isPullable,
  type Pullable,
  pull,
  type Sink,
} from './demand.js';
import { type BufferConfig, PolicyBuffer } from './policyBuffer.js';
import { hideLink, Room, restoreLink, withLink } from './roomLink.js';

/** How a stage ends when its upstream fails. */
export interface StageOptions {
  /**
   * Called instead of `sink.error` when the upstream itself errors: at once, even from inside a
   * delivery, with the buffered values discarded and never delivered. Without it, an upstream
   * error reaches `sink.error` after the buffered values, like completion. Either way, a value
   * refused under `'block'`/`'error'` reaches `sink.error` after the buffered values.
   */
  readonly onUpstreamError?: (error: unknown) => void;
}

/**
 * A bounded buffer between an upstream and one demand-aware consumer: the machinery of the
 * `bounded` operator, and of `workerPool` and `toAsyncIterable` in front of push sources.
 *
 * - Pull upstream (a sluice source): the stage requests only enough to fill its buffer plus the
 *   consumer's unmet demand, so a `'block'` producer really waits and no policy ever discards.
 * - Push upstream (any Observable): values arriving without demand are buffered under the
 *   policy. A push source cannot be paused, so when the buffer is full under `'block'` or
 *   `'error'`, the stage stops the upstream and, once the consumer has read what is buffered,
 *   fails with `ChannelFullError` carrying the value that did not fit.
 *
 * The upstream is subscribed lazily, on the first `request`, so that a synchronous source
 * meets the consumer's demand instead of an empty buffer. Upstream completion and errors are
 * delivered after the buffered values (unless `onUpstreamError` is given).
 *
 * A push upstream is subscribed with the stage's room published as the current room link
 * (`roomLink.ts`): a sluice stage further up, reached through synchronous RxJS operators,
 * produces only what fits (free slots plus the consumer's unmet demand), so the policy never
 * has to act on it.
 *
 * `stop()` (a graceful drain) stops a push upstream at once; a pull upstream is asked to stop
 * too, and what it already held still arrives and is delivered before completion.
 *
 * A value that arrives while the consumer has demand and nothing is buffered goes straight to
 * it and takes no slot, even when it arrives from inside a delivery (a consumer that feeds its
 * own source through a Subject): the nested delivery happens at once, as in `mergeMap`. A value
 * that had to wait in the buffer is delivered by the outermost delivery's loop, once the
 * delivery that made room has returned: a loop, never recursion, so the stack stays flat.
 */
export class BoundedStage<T> implements Demand {
  private readonly buffer: PolicyBuffer<T>;
  private demand = 0;
  private started = false;
  private cancelled = false;
  private ended = false;
  private upstreamDone = false;
  private failure: { error: unknown } | undefined;
  private delivering = false;
  /** Push upstream: the subscriber we can close even during a synchronous emission. */
  private pushSub: Subscriber<T> | undefined;
  /** Pull upstream: its demand handle and how much we requested but did not yet receive. */
  private pullUp: Demand<T> | undefined;
  private outstanding = 0;
  /** Pull upstream asked to stop: what it still delivers is taken, then its completion ends us. */
  private stopping = false;
  /** Push upstream: the room published to sluice sources subscribed through RxJS operators. */
  private room: Room | undefined;

  constructor(
    private readonly source: Observable<T> | Pullable<T>,
    config: BufferConfig<T>,
    private readonly sink: Sink<T>,
    private readonly where: string,
    private readonly options: StageOptions = {},
  ) {
    this.buffer = new PolicyBuffer(config);
  }

  /** Messages buffered now. */
  get size(): number {
    return this.buffer.size;
  }

  /** Messages discarded by the `'drop'` or `'replace'` policy (each also reached `onOverflow`). */
  get dropped(): number {
    return this.buffer.dropped;
  }

  request(n: number): void {
    if (this.ended) return;
    this.demand += n;
    if (!this.started) this.start();
    else {
      this.drain();
      this.room?.wake();
    }
  }

  /**
   * Lowers the consumer's outstanding demand to at most `max` (a consumer whose capacity shrank)
   * and returns the demand left. Values then wait in the buffer instead.
   */
  limitDemand(max: number): number {
    if (this.demand > max) this.demand = max;
    return this.demand;
  }

  cancel(failure?: ConsumerFailure): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelled = true;
    const up = this.pullUp;
    if (up?.giveBack !== undefined && this.buffer.size > 0) {
      // read ahead from a channel and never used: the channel takes it back
      up.giveBack(this.buffer.drain());
    }
    if (this.room !== undefined && failure !== undefined) this.room.failure = failure;
    this.pushSub?.unsubscribe();
    up?.cancel(failure);
    this.room?.close();
    this.buffer.drain();
  }

  /** Graceful drain: take nothing new from upstream; deliver what is held, then complete. */
  stop(): void {
    this.stopIntake();
  }

  /** Graceful drain: take nothing new from upstream; deliver what is held, then complete. */
  stopIntake(): void {
    if (this.ended || this.upstreamDone || this.stopping) return;
    const up = this.pullUp;
    if (up?.stop !== undefined) {
      // the upstream delivers what it holds, then completes, which ends this stage
      this.stopping = true;
      up.stop();
      return;
    }
    this.upstreamDone = true;
    this.stopUpstream();
    this.room?.close();
    this.drain();
  }

  private start(): void {
    this.started = true;
    const source = this.source;
    if (isPullable<T>(source)) {
      const link = hideLink();
      try {
        this.pullUp = source[pull]({
          next: (value) => {
            this.outstanding--;
            this.onValue(value);
          },
          error: (error: unknown) => this.onEnd({ error }),
          complete: () => this.onEnd(undefined),
        });
        this.drain();
      } finally {
        restoreLink(link);
      }
      return;
    }
    const sub = new Subscriber<T>({
      next: (value) => this.onValue(value),
      error: (error: unknown) => this.onEnd({ error }),
      complete: () => this.onEnd(undefined),
    });
    this.pushSub = sub;
    const buffer = this.buffer;
    const room = new Room(() =>
      this.upstreamDone ? 0 : buffer.capacity - buffer.size + this.demand,
    );
    this.room = room;
    withLink(room, () => (source as Observable<T>).subscribe(sub));
    this.drain();
  }

  private onValue(value: T): void {
    if (this.ended || this.upstreamDone) return;
    if (this.demand > 0 && this.buffer.size === 0) {
      // Nothing is ahead of it: straight to the consumer, also from inside another delivery.
      this.demand--;
      const nested = this.delivering;
      this.delivering = true;
      const link = hideLink();
      try {
        this.sink.next(value);
      } finally {
        restoreLink(link);
        this.delivering = nested;
      }
      if (!nested) this.drain();
      return;
    }
    if (
      this.delivering &&
      this.demand > 0 &&
      this.buffer.size < this.buffer.capacity + this.demand
    ) {
      // arrived while a value is being handed over (re-entrantly), and the consumer has asked
      // for it: the hand-over loop gives it to the consumer next, so it takes no slot
      this.buffer.push(value);
      return;
    }
    if (this.room !== undefined && this.room.inflow > 0) {
      // handed on by a linked producer within our room: an operator in between may have made
      // several values of one (bounded by what it expands), so it is taken, not refused
      this.buffer.push(value);
      if (!this.delivering) this.drain();
      return;
    }
    const offer = this.buffer.offer(value);
    if (offer === 'full') {
      this.endIntake({
        error: new ChannelFullError(
          `${this.where}: buffer is full (capacity ${this.buffer.capacity}) and a push source cannot wait; ` +
            `feed it from a demand-aware source (a sluice channel or fromIterable), ` +
            `raise capacity, or choose the 'drop' or 'replace' policy`,
          value,
        ),
      });
      this.stopUpstream();
      this.room?.close();
      return;
    }
    if (!this.delivering) this.drain();
  }

  /** The upstream completed or failed. */
  private onEnd(failure: { error: unknown } | undefined): void {
    if (this.ended || this.upstreamDone) return;
    const onUpstreamError = this.options.onUpstreamError;
    if (failure !== undefined && onUpstreamError !== undefined) {
      this.ended = true;
      this.stopUpstream();
      this.buffer.drain();
      onUpstreamError(failure.error);
      return;
    }
    this.endIntake(failure);
  }

  /** Nothing more is taken; the buffered values are delivered first, then the end. */
  private endIntake(failure: { error: unknown } | undefined): void {
    if (this.ended || this.upstreamDone) return;
    this.upstreamDone = true;
    this.failure = failure;
    this.room?.close();
    this.drain();
  }

  private stopUpstream(): void {
    this.pushSub?.unsubscribe();
    this.pullUp?.cancel();
  }

  private drain(): void {
    if (this.delivering || this.ended) return;
    this.delivering = true;
    const link = hideLink();
    let shifted = false;
    try {
      while (this.demand > 0 && this.buffer.size > 0 && !this.ended) {
        this.demand--;
        shifted = true;
        this.sink.next(this.buffer.shift());
      }
    } finally {
      restoreLink(link);
      this.delivering = false;
    }
    if (shifted && !this.ended) this.room?.wake();
    if (this.ended) return;
    if (this.upstreamDone) {
      if (this.buffer.size === 0) {
        this.ended = true;
        if (this.failure) this.sink.error(this.failure.error);
        else this.sink.complete();
      }
      return;
    }
    this.refill();
  }

  /** Pull upstream only: keep buffered + requested at capacity plus the consumer's unmet demand. */
  private refill(): void {
    const up = this.pullUp;
    if (up === undefined || this.cancelled) return;

    const unmet = Math.max(0, this.demand - this.buffer.size);
    const target = this.buffer.capacity + unmet;
    const want = target - this.buffer.size - this.outstanding;
    if (want > 0 && this.outstanding !== Number.POSITIVE_INFINITY) {
      this.outstanding += want;
      up.request(want);
    }
  }
}
