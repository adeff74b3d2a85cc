import { type Observable, Subscriber } from 'rxjs';
import { ChannelFullError } from '../errors.js';
import type { OverflowHandler, OverflowPolicy } from '../overflow.js';
import { type Demand, isPullable, type Pullable, pull, type Sink } from './demand.js';
import { hideLink, Room, restoreLink, withLink } from './roomLink.js';

// ---- the demand plumbing: the only place `shareBounded` speaks the demand protocol ----------

/**
 * The upstream of a shared stage, whatever it is: a pull source is asked for `request(n)`
 * values; a push source cannot be asked, so `request` does nothing and values simply arrive.
 * When the demand protocol changes, this class (and the `PullObservable` that wraps the
 * operator's output) is what to rewire.
 */
class Upstream<T> {
  readonly isPull: boolean;
  private pullDemand: Demand | undefined;
  private pushSub: Subscriber<T> | undefined;

  constructor(
    private readonly source: Observable<T> | Pullable<T>,
    private readonly sink: Sink<T>,
    /** Push upstream: the room published to a sluice stage reached through RxJS operators. */
    readonly room: Room,
  ) {
    this.isPull = isPullable<T>(source);
  }

  open(): void {
    if (this.isPull) {
      const link = hideLink();
      try {
        this.pullDemand = (this.source as Pullable<T>)[pull](this.sink);
      } finally {
        restoreLink(link);
      }
      return;
    }
    // A Subscriber we hold before the source runs, so a synchronous source stops at once.
    const sub = new Subscriber<T>(this.sink);
    this.pushSub = sub;
    withLink(this.room, () => (this.source as Observable<T>).subscribe(sub));
  }

  request(n: number): void {
    this.pullDemand?.request(n);
  }

  cancel(): void {
    this.pushSub?.unsubscribe();
    this.pullDemand?.cancel();
    this.room.close();
  }
}

// ---- the stage ------------------------------------------------------------------------------

/** Validated settings of a shared stage. */
export interface SharedStageConfig<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly onOverflow: OverflowHandler<T> | undefined;
}

/** One subscriber of the stage: a cursor into the ring and the demand it has left. */
interface Reader<T> {
  readonly sink: Sink<T>;
  /** Sequence number of the next message it reads. */
  cursor: number;
  demand: number;
  done: boolean;
}

const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

/**
 * One connection of `shareBounded`: one upstream subscription, one ring of `capacity`
 * messages addressed by sequence number, and a cursor per subscriber.
 *
 * Invariants:
 * - the ring holds the messages from the slowest current reader's cursor (`base`) to `tail`,
 *   never more than `capacity`, whatever the number of readers;
 * - a pull upstream is asked only for what fits: retained + requested <= capacity, so the
 *   slowest reader paces the producer and no policy ever discards;
 * - a push upstream that finds the ring full meets the policy: `'drop'` discards the new
 *   message, `'replace'` the oldest (readers that had not read it skip it), both reported;
 *   `'block'` and `'error'` stop the upstream and end the stage with `ChannelFullError`
 *   once each reader has read what it had not read yet;
 * - a reader that leaves releases what only it still needed, so it never holds the others;
 * - a reader that joins starts at `tail`: it gets messages that arrive after it joined;
 * - each message reaches each reader once, in order, also when sinks request, cancel or add
 *   readers from inside `next` (one loop, never recursion).
 */
export class SharedStage<T> {
  private readonly capacity: number;
  private readonly policy: OverflowPolicy;
  private readonly onOverflow: OverflowHandler<T> | undefined;

  private readonly values: Array<T | undefined> = [];
  /** Per slot, the readers that still have to read it. */
  private readonly rem: number[] = [];
  /** Oldest retained sequence number. */
  private base = 0;
  /** Sequence number of the next message stored. */
  private tail = 0;

  private readonly readers = new Set<Reader<T>>();
  private readonly upstream: Upstream<T>;
  private started = false;
  /** Values requested from a pull upstream and not yet arrived. */
  private outstanding = 0;
  private upstreamDone = false;
  private failure: { error: unknown } | undefined;
  private disconnected = false;

  private pumping = false;
  private again = false;

  /** Messages discarded by `'drop'` or `'replace'`. */
  dropped = 0;

  constructor(
    source: Observable<T> | Pullable<T>,
    config: SharedStageConfig<T>,
    /** Called when the last reader left by cancelling (not by reaching the end). */
    private readonly onEmpty: (stage: SharedStage<T>) => void,
    /** Called once when the upstream ended: completed, failed, or refused by the policy. */
    private readonly onEnded: (
      stage: SharedStage<T>,
      failure: { error: unknown } | undefined,
    ) => void,
  ) {
    this.capacity = config.capacity;
    this.policy = config.overflow;
    this.onOverflow = config.onOverflow;
    this.upstream = new Upstream(
      source,
      {
        next: (value) => {
          if (this.upstream.isPull) this.outstanding--;
          this.onValue(value);
        },
        error: (error: unknown) => this.onEnd({ error }),
        complete: () => this.onEnd(undefined),
      },
      new Room(() => (this.upstreamDone ? 0 : this.capacity - (this.tail - this.base))),
    );
  }

  /** True once the upstream ended (completed, failed, or refused by the policy). */
  get ended(): boolean {
    return this.upstreamDone;
  }

  /** True when it ended with an error. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Messages retained for readers that have not read them: at most `capacity`. */
  get size(): number {
    return this.tail - this.base;
  }

  /** Readers now. */
  get readerCount(): number {
    return this.readers.size;
  }

  /** A new reader at the tail with zero demand. */
  add(sink: Sink<T>): Demand {
    if (this.upstreamDone) {
      if (this.failure) sink.error(this.failure.error);
      else sink.complete();
      return NO_DEMAND;
    }
    const reader: Reader<T> = { sink, cursor: this.tail, demand: 0, done: false };
    this.readers.add(reader);
    return {
      request: (n) => {
        if (reader.done) return;
        reader.demand += n;
        if (!this.started) {
          this.started = true;
          this.upstream.open();
        }
        this.pump();
      },
      cancel: () => this.leave(reader),
    };
  }

  /** Drops the upstream for good: the stage was reset while nobody read it. */
  disconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.upstreamDone = true;
    this.upstream.cancel();
  }

  private leave(reader: Reader<T>): void {
    if (reader.done) return;
    reader.done = true;
    this.readers.delete(reader);
    for (let seq = reader.cursor; seq < this.tail; seq++) this.release(seq);
    if (this.readers.size === 0 && !this.upstreamDone) this.onEmpty(this);
    else this.pump();
  }

  private onValue(value: T): void {
    if (this.upstreamDone) return;
    const readers = this.readers.size;
    if (readers === 0) return; // nobody could ever read it: a new reader starts at the tail
    if (this.tail - this.base >= this.capacity && !this.makeRoom(value)) return;
    const slot = this.tail % this.capacity;
    this.values[slot] = value;
    this.rem[slot] = readers;
    this.tail++;
    this.pump();
  }

  /** The ring is full (a push upstream only): apply the policy; false when `value` goes. */
  private makeRoom(value: T): boolean {
    switch (this.policy) {
      case 'drop':
        this.dropped++;
        this.onOverflow?.(value, 'drop');
        return false;
      case 'replace': {
        const seq = this.base;
        const slot = seq % this.capacity;
        const evicted = this.values[slot] as T;
        for (const reader of this.readers) if (reader.cursor === seq) reader.cursor++;
        this.values[slot] = undefined;
        this.rem[slot] = 0;
        this.advanceBase();
        this.dropped++;
        this.onOverflow?.(evicted, 'replace');
        return true;
      }
      default:
        this.upstream.cancel();
        this.onEnd({
          error: new ChannelFullError(
            `shareBounded: buffer is full (capacity ${this.capacity}) and a push source cannot wait; ` +
              `feed it from a demand-aware source (a sluice channel or fromIterable), ` +
              `raise capacity, or choose the 'drop' or 'replace' policy`,
            value,
          ),
        });
        return false;
    }
  }

  private onEnd(failure: { error: unknown } | undefined): void {
    if (this.upstreamDone) return;
    this.upstreamDone = true;
    this.upstream.room.close();
    this.failure = failure;
    this.onEnded(this, failure);
    this.pump();
  }

  /** One reader is done with message `seq`; the last one releases the slot. */
  private release(seq: number): void {
    if (seq < this.base) return;
    const slot = seq % this.capacity;
    const left = this.rem[slot]! - 1;
    this.rem[slot] = left;
    if (left === 0) {
      this.values[slot] = undefined;
      if (seq === this.base) this.advanceBase();
    }
  }

  private advanceBase(): void {
    while (this.base < this.tail && this.rem[this.base % this.capacity] === 0) this.base++;
  }

  /** Delivers what each reader may read, ends those that read everything, then refills. */
  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (const reader of this.readers) this.drain(reader);
        this.refill();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private drain(reader: Reader<T>): void {
    while (!reader.done && reader.demand > 0 && reader.cursor < this.tail) {
      const seq = reader.cursor++;
      const value = this.values[seq % this.capacity] as T;
      this.release(seq);
      reader.demand--;
      reader.sink.next(value);
    }
    if (!reader.done && this.upstreamDone && reader.cursor >= this.tail) {
      reader.done = true;
      this.readers.delete(reader);
      if (this.failure) reader.sink.error(this.failure.error);
      else reader.sink.complete();
    }
  }

  /** A pull upstream is asked for what fits behind the slowest reader. */
  private refill(): void {
    if (!this.started || this.upstreamDone) return;
    if (!this.upstream.isPull) {
      this.upstream.room.wake(); // a linked sluice stage further up may produce what now fits
      return;
    }
    if (this.readers.size === 0) return;
    const want = this.capacity - (this.tail - this.base) - this.outstanding;
    if (want <= 0) return;
    this.outstanding += want;
    this.upstream.request(want);
  }
}
