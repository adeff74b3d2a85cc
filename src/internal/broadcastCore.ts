import { ChannelClosedError, LaggedError } from '../errors.js';
import type { TryRecvResult } from '../tryRecvResult.js';
import {
  type BroadcastConfig,
  type LagPolicy,
  Reader,
  type ReaderHandle,
  type ReaderState,
} from './broadcastReader.js';
import type { Demand, Sink } from './demand.js';
import { Ring } from './ring.js';
import { Latch } from './waiting/latch.js';

/** A message sent while pushed messages were still being delivered, with its audience. */
interface Backlogged<T> {
  readonly value: T;
  readonly targets: readonly Reader<T>[];
}

const EMPTY: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'empty' });
const CLOSED: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'closed' });
const RESOLVED: Promise<void> = Promise.resolve();
const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

/**
 * The engine of `broadcast`: one ring of `capacity` slots addressed by sequence number
 * (slot = seq mod capacity), shared by every reader; each reader keeps only a cursor.
 *
 * Invariants:
 * - the ring never holds more than `capacity` slots, whatever the number of readers;
 * - a message is stored only when some cursor reader exists (`counted.size > 0`); live
 *   readers get it synchronously on send and never lag;
 * - each stored slot carries `rem`, the readers that still have to read it; it is released
 *   (the value dropped) when `rem` reaches 0, so nothing is kept alive for nobody;
 * - a reader whose cursor fell below `tail - capacity` skips to the oldest retained message
 *   and the skip is reported (`lagged`, `onLag` or `LaggedError`);
 * - per reader, messages arrive in send order, also when sinks send, subscribe or cancel
 *   re-entrantly from inside `next`.
 */
export class BroadcastCore<T> {
  readonly capacity: number;
  private readonly lagPolicy: LagPolicy;
  private readonly onLag: ((skipped: number) => void) | undefined;

  // ---- the ring: grows to `capacity` slots, then overwrites the oldest ---------------------
  // Random access by sequence number with many readers, not first-in first-out with one, so
  // plain arrays rather than `Ring` (whose power-of-two growth would also exceed capacity).
  private readonly values: Array<T | undefined> = [];
  private readonly rem: number[] = [];
  /** Sequence number the next stored message gets. */
  private tail = 0;
  /** Slots in the ring some reader still has to read. */
  private held = 0;

  // ---- readers ------------------------------------------------------------------------------
  /** Plain subscriptions, copy on write: a delivery loop iterates a snapshot. */
  private live: readonly Reader<T>[] = [];
  private readonly counted = new Set<Reader<T>>();
  /** Caught-up readers with demand, woken by the next send. */
  private waiting = new Set<Reader<T>>();
  private wokenAt = 0;
  private waking = false;

  // ---- the push path for live readers -------------------------------------------------------
  private pushing = false;
  private readonly backlog = new Ring<Backlogged<T>>(4);
  private endAfterPush: Reader<T>[] = [];

  // ---- lifecycle ----------------------------------------------------------------------------
  /** Open sender handles; sending closes with the last. */
  senders = 1;
  private sendClosed = false;
  private failure: { error: unknown } | undefined;
  /** Every `closed()` caller shares one promise (a new one if the channel opened again). */
  private closedLatch = new Latch();

  // ---- counters -----------------------------------------------------------------------------
  /** Messages accepted by `send`. */
  sent = 0;
  /** Deliveries, summed over readers. */
  received = 0;
  /** Messages readers skipped because they lagged, summed over readers. */
  lagged = 0;
  /** Messages sent while no receiver existed: nobody could ever read them. */
  unreceived = 0;

  constructor(config: BroadcastConfig) {
    this.capacity = config.capacity;
    this.lagPolicy = config.lag;
    this.onLag = config.onLag;
  }

  /** Slots allocated in the ring: at most `capacity`, independent of the number of readers. */
  get slotCount(): number {
    return this.values.length;
  }

  /** Messages retained because some reader has not read them yet. */
  get size(): number {
    return this.held;
  }

  get isClosed(): boolean {
    return this.sendClosed;
  }

  /** Subscriptions, pull consumers and open receiver handles that will get the next message. */
  get receiverCount(): number {
    return this.live.length + this.counted.size;
  }

  /** The oldest sequence number still in the ring. */
  private get head(): number {
    return this.tail > this.capacity ? this.tail - this.capacity : 0;
  }

  // ---- sending ------------------------------------------------------------------------------

  /** Stores and delivers a message; the caller checked that sending is open. */
  send(value: T): number {
    this.sent++;
    const receivers = this.live.length + this.counted.size;
    if (receivers === 0) {
      this.unreceived++;
      return 0;
    }
    if (this.counted.size > 0) this.store(value, this.counted.size);
    if (this.live.length > 0) this.push(value);
    if (this.waiting.size > 0) this.wake();
    return receivers;
  }

  /** A producer failed: readers read what they have not read yet, then get `error`. */
  fail(error: unknown): void {
    if (this.sendClosed) return;
    this.failure = { error };
    this.closeSending();
  }

  /** One sender handle closed; sending closes with the last. */
  releaseSender(): void {
    this.senders--;
    if (this.senders === 0) this.closeSending();
  }

  closedError(value: T): ChannelClosedError<T> {
    const why = this.failure ? 'a producer failed it' : 'every sender closed it';
    return new ChannelClosedError(`broadcast: channel is closed (${why})`, value);
  }

  /** Resolves once no receiver remains or sending closed: nobody will read a new message. */
  closed(): Promise<void> {
    if (this.sendClosed || this.receiverCount === 0) return RESOLVED;
    if (this.closedLatch.isOpen) this.closedLatch = new Latch();
    return this.closedLatch.wait();
  }

  private closeSending(): void {
    if (this.sendClosed) return;
    this.sendClosed = true;
    this.notifyClosed();
    for (const reader of [...this.counted]) this.settle(reader);
    for (const reader of this.live) this.settle(reader);
  }

  private store(value: T, readers: number): void {
    const seq = this.tail;
    const slot = seq % this.capacity;
    if (slot === this.values.length) {
      this.values.push(value);
      this.rem.push(readers);
    } else {
      // Overwriting: the evicted message's readers lag; they find out when they read.
      if (this.rem[slot]! > 0) this.held--;
      this.values[slot] = value;
      this.rem[slot] = readers;
    }
    this.held++;
    this.tail = seq + 1;
  }

  /** One reader read (or gave up) message `seq`; the last one releases the slot. */
  private release(seq: number): void {
    const slot = seq % this.capacity;
    const left = this.rem[slot]! - 1;
    this.rem[slot] = left;
    if (left === 0) {
      this.values[slot] = undefined;
      this.held--;
    }
  }

  /** Synchronous delivery to live readers, in send order even when a sink sends from `next`. */
  private push(value: T): void {
    if (this.pushing) {
      this.backlog.push({ value, targets: this.live });
      return;
    }
    this.pushing = true;
    try {
      this.deliverAll(value, this.live);
      while (this.backlog.size > 0) {
        const next = this.backlog.shift();
        this.deliverAll(next.value, next.targets);
      }
    } finally {
      this.pushing = false;
      if (this.endAfterPush.length > 0) {
        const ending = this.endAfterPush;
        this.endAfterPush = [];
        for (const reader of ending) this.finish(reader);
      }
    }
  }

  private deliverAll(value: T, targets: readonly Reader<T>[]): void {
    for (const reader of targets) {
      if (reader.state !== 'live') continue;
      this.received++;
      reader.sink.next(value);
    }
  }

  /** Serves caught-up readers with demand after a send; re-entrant sends add rounds. */
  private wake(): void {
    if (this.waking) return;
    this.waking = true;
    try {
      while (this.waiting.size > 0 && this.wokenAt < this.tail) {
        this.wokenAt = this.tail;
        const woken = this.waiting;
        this.waiting = new Set();
        for (const reader of woken) {
          reader.queued = false;
          this.drain(reader);
        }
      }
    } finally {
      this.waking = false;
    }
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Opens a stream reader (subscription, pull consumer) at the tail, with zero demand. */
  pull(sink: Sink<T>): Demand {
    if (this.sendClosed) {
      if (this.failure) sink.error(this.failure.error);
      else sink.complete();
      return NO_DEMAND;
    }
    const reader = new Reader(sink, undefined, this.tail);
    this.counted.add(reader);
    return {
      request: (n: number) => this.request(reader, n),
      cancel: () => this.remove(reader),
    };
  }

  /** Opens a receiver handle's own cursor at the tail. */
  openCursor(handle: ReaderHandle<T>): Reader<T> {
    const reader = new Reader(handle.sink, handle, this.tail);
    this.counted.add(reader);
    return reader;
  }

  request(reader: Reader<T>, n: number): void {
    if (reader.state === 'done') return;
    reader.demand += n;
    this.drain(reader);
  }

  /** A handle's `recv()` was abandoned: one unit of demand fewer. */
  withdraw(reader: Reader<T>): void {
    reader.demand--;
    if (reader.demand <= 0 && reader.queued) {
      reader.queued = false;
      this.waiting.delete(reader);
    }
  }

  /** Hands a reader what it may read from its cursor, then parks, finishes or goes live. */
  private drain(reader: Reader<T>): void {
    if (reader.draining || reader.state === 'done' || reader.state === 'live') return;
    reader.draining = true;
    try {
      // A sink may cancel or end its reader from inside `next`: re-read the state each turn.
      while (reader.demand > 0 && (reader.state as ReaderState) !== 'done') {
        if (reader.cursor >= this.tail) break;
        const head = this.head;
        if (reader.cursor < head) {
          const failure = this.skip(reader, head);
          if (failure !== undefined) this.readerFailed(reader, failure.error);
          continue;
        }
        const value = this.read(reader);
        reader.demand--;
        reader.sink.next(value);
      }
    } finally {
      reader.draining = false;
    }
    this.settle(reader);
  }

  /** Reads message `cursor` for a reader whose cursor is within the ring. */
  private read(reader: Reader<T>): T {
    const seq = reader.cursor++;
    const value = this.values[seq % this.capacity] as T;
    this.release(seq);
    this.received++;
    return value;
  }

  /** Moves a lagging reader's cursor to `to` and reports the skip; returns a failure to raise. */
  private skip(reader: Reader<T>, to: number): { error: unknown } | undefined {
    const skipped = to - reader.cursor;
    reader.cursor = to;
    this.lagged += skipped;
    if (this.lagPolicy === 'error') return { error: new LaggedError(skipped) };
    try {
      this.onLag?.(skipped);
    } catch (error) {
      return { error };
    }
    return undefined;
  }

  private readerFailed(reader: Reader<T>, error: unknown): void {
    if (reader.handle) {
      // A handle: this one recv() rejects; the next reads on from the oldest retained (tokio).
      reader.demand--;
      reader.sink.error(error);
    } else {
      this.remove(reader);
      reader.sink.error(error);
    }
  }

  /** After a read loop or a close: finish a reader that read everything it will ever get. */
  private settle(reader: Reader<T>): void {
    switch (reader.state) {
      case 'done':
        return;
      case 'live':
        if (!this.sendClosed) return;
        // Messages pushed before the close still reach it: it ends when the backlog is out.
        if (this.pushing) this.endAfterPush.push(reader);
        else this.finish(reader);
        return;
      default: {
        if (reader.cursor < this.tail) return;
        if (this.sendClosed) {
          this.finish(reader);
        } else if (!reader.handle && reader.demand === Number.POSITIVE_INFINITY) {
          this.goLive(reader);
        } else if (reader.demand > 0 && !reader.queued) {
          reader.queued = true;
          this.waiting.add(reader);
        }
      }
    }
  }

  private goLive(reader: Reader<T>): void {
    this.counted.delete(reader);
    reader.state = 'live';
    this.live = [...this.live, reader];
  }

  /** The reader got everything it will get: complete or error it (a handle rejects its calls). */
  private finish(reader: Reader<T>): void {
    if (reader.state === 'done') return;
    if (reader.handle) {
      reader.demand = 0;
      if (reader.queued) {
        reader.queued = false;
        this.waiting.delete(reader);
      }
      // The handle stays registered after the channel ended: its calls keep rejecting.
      reader.sink.complete();
      return;
    }
    this.detach(reader);
    if (this.failure) reader.sink.error(this.failure.error);
    else reader.sink.complete();
  }

  /**
   * The consumer left (cancel, lag error, handle closed): release what it had not read and
   * stop counting it. O(unread) once per reader, like a tokio `Receiver` drop.
   */
  remove(reader: Reader<T>): void {
    if (reader.state === 'done') return;
    if (reader.state === 'counted') {
      for (let seq = Math.max(reader.cursor, this.head); seq < this.tail; seq++) this.release(seq);
      reader.cursor = this.tail;
    }
    this.detach(reader);
  }

  private detach(reader: Reader<T>): void {
    const was = reader.state;
    reader.state = 'done';
    reader.demand = 0;
    if (reader.queued) {
      reader.queued = false;
      this.waiting.delete(reader);
    }
    if (was === 'live') this.live = this.live.filter((r) => r !== reader);
    else this.counted.delete(reader);
    if (this.receiverCount === 0) this.notifyClosed();
  }

  /** `tryRecv()` on a handle's cursor. */
  tryRead(reader: Reader<T>): TryRecvResult<T> {
    if (reader.state === 'done') return CLOSED;
    if (reader.demand > 0) return EMPTY; // earlier recv() calls wait, so the cursor is at the tail
    if (reader.cursor < this.head) {
      const failure = this.skip(reader, this.head);
      if (failure !== undefined) {
        if (failure.error instanceof LaggedError) {
          return { ok: false, reason: 'lagged', skipped: failure.error.skipped };
        }
        throw failure.error;
      }
    }
    if (reader.cursor < this.tail) return { ok: true, value: this.read(reader) };
    return this.sendClosed ? CLOSED : EMPTY;
  }

  /**
   * A receiver handle closed (tokio: the receiver dropped): its cursor stops counting, what
   * it had not read is released for it, and its waiting `recv()` calls reject.
   */
  closeHandle(handle: ReaderHandle<T>): void {
    const reader = handle.cursor;
    this.remove(reader);
    reader.sink.complete();
  }

  private notifyClosed(): void {
    this.closedLatch.open();
  }

  /** Why a handle's reader gets nothing more: the error its pending and later calls reject with. */
  endError(handle: ReaderHandle<T>): unknown {
    if (handle.isClosed) return new ChannelClosedError('broadcast: this receiver is closed');
    if (this.failure) return this.failure.error;
    return new ChannelClosedError('broadcast: channel is closed (every sender closed it) and read');
  }
}
