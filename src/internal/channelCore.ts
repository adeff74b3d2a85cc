import { ChannelClosedError, ChannelFullError, ReceiverBusyError } from '../errors.js';
import type { TryRecvResult } from '../tryRecvResult.js';
import type { TrySendResult } from '../trySendResult.js';
import type { Demand, Sink } from './demand.js';
import { type BufferConfig, PolicyBuffer } from './policyBuffer.js';
import { Latch } from './waiting/latch.js';
import { WaitList } from './waiting/waitList.js';

/** A consumer registered with the channel: a subscription, a pull consumer or one `recv()`. */
interface Taker<T> {
  readonly sink: Sink<T>;
  demand: number;
  /** A `recv()`: served one message, then removed. */
  readonly once: boolean;
  removed: boolean;
}

const ACCEPTED: TrySendResult<never> = Object.freeze({ ok: true });
const EMPTY: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'empty' });
const CLOSED: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'closed' });
const RESOLVED: Promise<void> = Promise.resolve();

/** Why a consumer cancelled: it failed with `error` (a plain cancel passes nothing). */
export interface ConsumerFailure {
  readonly error: unknown;
}

/**
 * The shared engine of `mpsc` and `mpmc`: one `PolicyBuffer`, a first-in first-out line of
 * waiting senders, and the consumers with their outstanding demand.
 *
 * Invariants:
 * - the buffer never holds more than `capacity` messages;
 * - a message leaves the buffer only towards a consumer that requested it;
 * - waiting senders are admitted in arrival order, one per freed slot;
 * - the channel ends (complete or error to every consumer) once sending is closed, the buffer
 *   is empty and no sender waits.
 *
 * Delivery is re-entrancy safe: a consumer may send, receive, request or cancel from inside
 * `next`; the pump loop picks such changes up before it returns.
 */
export class ChannelCore<T> {
  readonly buffer: PolicyBuffer<T>;
  /** Accepted messages (into the buffer or straight to a consumer). */
  sent = 0;
  /** Messages handed to a consumer. */
  received = 0;
  /** Open sender handles; sending closes when it reaches zero. */
  senders = 1;
  /** The channel failed because a push source overflowed it (see `next`). */
  overflowed = false;
  /** Messages a push source offered after it overflowed the channel (see `next`). */
  refused = 0;

  /** Sends waiting for room; an aborted one leaves at once and may let the channel end. */
  private readonly waiters = new WaitList<T, void>(() => this.checkDone());
  private takers: Taker<T>[] = [];
  private rr = 0;
  private streams = 0;
  private onces = 0;
  private sendClosed = false;
  private receiverClosed = false;
  private failure: { error: unknown } | undefined;
  private consumerFailure: ConsumerFailure | undefined;
  private ended = false;
  private pumping = false;
  private readonly closedLatch = new Latch();

  /**
   * @param config capacity and policy
   * @param where the constructor's name for error messages
   * @param exclusive one consumer at a time (mpsc) rather than competing consumers (mpmc)
   */
  constructor(
    config: BufferConfig<T>,
    private readonly where: string,
    private readonly exclusive: boolean,
  ) {
    this.buffer = new PolicyBuffer(config);
  }

  /** No new message will be accepted. */
  get isClosed(): boolean {
    return this.sendClosed;
  }

  /**
   * No message can arrive any more beyond what is buffered: sending is closed and no send
   * waits to deliver (tokio's `is_closed` on the receiving side).
   */
  get isClosedForReceiver(): boolean {
    return this.sendClosed && this.waiters.size === 0;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Messages waiting in `send()` for room. */
  get waitingSenders(): number {
    return this.waiters.size;
  }

  // ---- sending ------------------------------------------------------------------------

  trySend(value: T): TrySendResult<T> {
    if (this.sendClosed) return { ok: false, reason: 'closed', value };
    if (this.waiters.size > 0) return { ok: false, reason: 'full', value };
    if (this.buffer.size === 0 && !this.pumping) {
      const taker = this.pick();
      if (taker !== undefined) {
        this.sent++;
        this.pumping = true;
        try {
          this.deliver(taker, value);
        } finally {
          this.pumping = false;
        }
        if (this.buffer.size > 0 || this.waiters.size > 0 || this.sendClosed) this.pump();
        return ACCEPTED;
      }
    }
    let offer: ReturnType<PolicyBuffer<T>['offer']>;
    try {
      offer = this.buffer.offer(value);
    } catch (err) {
      // onOverflow threw after the buffer was made consistent again.
      if (this.buffer.policy === 'replace') {
        this.sent++;
        this.pump();
      }
      throw err;
    }
    if (offer === 'accepted') {
      this.sent++;
      this.pump();
      return ACCEPTED;
    }
    return { ok: false, reason: offer, value };
  }

  send(value: T, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let result: TrySendResult<T>;
    try {
      result = this.trySend(value);
    } catch (err) {
      return Promise.reject(err);
    }
    if (result.ok || result.reason === 'dropped') return RESOLVED;
    if (result.reason === 'closed') return Promise.reject(this.closedError(value));
    if (this.buffer.policy === 'error') {
      return Promise.reject(
        new ChannelFullError(
          `${this.where}: channel is full (capacity ${this.buffer.capacity})`,
          value,
        ),
      );
    }
    return this.waiters.wait(value, signal).promise;
  }

  /**
   * The synchronous Observer path (`source.subscribe(tx)` with a push source): follows the
   * policy. A push source cannot wait, so where the policy would make it wait (`'block'`) or
   * fail (`'error'`), the channel fails with `ChannelFullError` carrying the message: consumers
   * read what was buffered, then get the error. Nothing is thrown into the source (RxJS would
   * only report it as unhandled, and the source would go on). What the source offers after
   * that is refused and counted in `refused`. A send to a channel that was closed otherwise
   * throws `ChannelClosedError` carrying the message.
   */
  next(value: T): void {
    const result = this.trySend(value);
    if (result.ok || result.reason === 'dropped') return;
    if (result.reason === 'closed') {
      if (this.overflowed) {
        this.refused++;
        return;
      }
      throw this.closedError(value);
    }
    this.overflowed = true;
    this.fail(
      new ChannelFullError(
        `${this.where}: channel is full (capacity ${this.buffer.capacity}) and a push source cannot wait; ` +
          `feed it from a sluice source (paced by the channel), use await send(), ` +
          `or choose the 'drop' or 'replace' policy`,
        value,
      ),
    );
  }

  /** A producer failed: consumers get the buffered messages, then `error`. */
  fail(error: unknown): void {
    if (this.sendClosed) return;
    this.failure = { error };
    this.sendClosed = true;
    this.pump();
  }

  /** One sender handle closed; sending closes with the last. Waiting sends still deliver. */
  releaseSender(): void {
    this.senders--;
    if (this.senders === 0 && !this.sendClosed) {
      this.sendClosed = true;
      this.pump();
    }
  }

  /** The receiver closed: no new sends, waiting sends are refused, buffered messages stay readable. */
  closeReceiver(): void {
    if (this.receiverClosed) return;
    this.receiverClosed = true;
    this.sendClosed = true;
    this.waiters.rejectAll((value) => this.closedError(value));
    this.closedLatch.open();
    this.pump();
  }

  /**
   * A consumer failed (its work threw and it cancelled with the error): like a dropped tokio
   * receiver, the channel closes for sending, so a producer waiting for room gets its message
   * back as `ChannelClosedError` (with the consumer's error as `cause`) instead of waiting for
   * a consumer that is gone. Buffered messages stay readable.
   */
  consumerFailed(failure: ConsumerFailure): void {
    if (this.receiverClosed) return;
    this.consumerFailure = failure;
    this.closeReceiver();
  }

  /** Resolves once the receiver closed or the channel ended. */
  closed(): Promise<void> {
    return this.closedLatch.wait();
  }

  // ---- receiving ----------------------------------------------------------------------

  tryRecv(): TryRecvResult<T> {
    if (this.exclusive && this.streams > 0) throw this.busy('tryRecv()');
    if (this.buffer.size > 0) {
      const value = this.buffer.shift();
      this.received++;
      this.pump();
      return { ok: true, value };
    }
    return this.ended || (this.sendClosed && this.waiters.size === 0) ? CLOSED : EMPTY;
  }

  recv(signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.exclusive && this.streams > 0) return Promise.reject(this.busy('recv()'));
    if (this.buffer.size > 0 && this.onces === 0) {
      const value = this.buffer.shift();
      this.received++;
      this.pump();
      return Promise.resolve(value);
    }
    return new Promise<T>((resolve, reject) => {
      let cleanup: (() => void) | undefined;
      const taker = this.addTaker(
        {
          next: (value) => {
            cleanup?.();
            resolve(value);
          },
          error: (err) => {
            cleanup?.();
            reject(err);
          },
          complete: () => {
            cleanup?.();
            reject(new ChannelClosedError(`${this.where}: channel is closed and drained`));
          },
        },
        1,
        true,
      );
      if (signal && !taker.removed) {
        const onAbort = () => {
          if (taker.removed) return;
          this.removeTaker(taker);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.pump();
    });
  }

  /** A stream consumer (subscription, async iterator, pool) with its own demand. */
  pull(sink: Sink<T>): Demand<T> {
    if (this.exclusive && (this.streams > 0 || this.onces > 0)) {
      sink.error(this.busy('a second subscription'));
      return { request() {}, cancel() {} };
    }
    const taker = this.addTaker(sink, 0, false);
    return {
      request: (n: number) => {
        if (taker.removed) return;
        taker.demand += n;
        this.pump();
      },
      cancel: (failure?: ConsumerFailure) => {
        if (!taker.removed) this.removeTaker(taker);
        if (failure !== undefined) this.consumerFailed(failure);
      },
      giveBack: (values: readonly T[]) => {
        // a stage that read ahead of its consumer and is cancelled hands its unread messages
        // back: they go to the front, in order, and are delivered first to the next consumer
        if (this.ended || values.length === 0) return;
        this.buffer.giveBack(values);
        this.received -= values.length;
        this.pump();
      },
    };
  }

  // ---- internals ----------------------------------------------------------------------

  private addTaker(sink: Sink<T>, demand: number, once: boolean): Taker<T> {
    const taker: Taker<T> = { sink, demand, once, removed: false };
    if (this.ended) {
      taker.removed = true;
      if (this.failure) sink.error(this.failure.error);
      else sink.complete();
      return taker;
    }
    this.takers.push(taker);
    if (once) this.onces++;
    else this.streams++;
    return taker;
  }

  private removeTaker(taker: Taker<T>): void {
    taker.removed = true;
    const index = this.takers.indexOf(taker);
    if (index >= 0) {
      // In place: nothing iterates the live array across a callback (pick() returns before any
      // delivery, and an ending detaches the array before it notifies).
      this.takers.splice(index, 1);
      if (this.rr > index) this.rr--;
    }
    if (taker.once) this.onces--;
    else this.streams--;
  }

  /** The consumer that gets the next message: the first with demand (mpsc), or round-robin (mpmc). */
  private pick(): Taker<T> | undefined {
    const takers = this.takers;
    const n = takers.length;
    if (n === 1) {
      const only = takers[0]!;
      return only.demand > 0 ? only : undefined;
    }
    if (this.exclusive) {
      for (const taker of takers) if (taker.demand > 0) return taker;
      return undefined;
    }
    for (let i = 0; i < n; i++) {
      const index = (this.rr + i) % n;
      const taker = takers[index]!;
      if (taker.demand > 0) {
        this.rr = (index + 1) % n;
        return taker;
      }
    }
    return undefined;
  }

  private deliver(taker: Taker<T>, value: T): void {
    taker.demand--;
    this.received++;
    if (taker.once) this.removeTaker(taker);
    taker.sink.next(value);
  }

  /** Moves messages towards consumers with demand and admits waiting senders, until stable. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        while (this.buffer.size > 0) {
          const taker = this.pick();
          if (taker === undefined) break;
          this.deliver(taker, this.buffer.shift());
        }
        let admitted = false;
        for (let wait = this.waiters.peek(); wait !== undefined && !this.buffer.isFull; ) {
          this.buffer.push(wait.entry);
          this.sent++;
          wait.resolve();
          admitted = true;
          wait = this.waiters.peek();
        }
        if (!admitted) break;
      }
    } finally {
      this.pumping = false;
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (this.ended || !this.sendClosed || this.buffer.size > 0 || this.waiters.size > 0) return;
    this.ended = true;
    const takers = this.takers;
    this.takers = [];
    this.streams = 0;
    this.onces = 0;
    this.closedLatch.open();
    for (const taker of takers) {
      taker.removed = true;
      if (this.failure) taker.sink.error(this.failure.error);
      else taker.sink.complete();
    }
  }

  private closedError(value: T): ChannelClosedError<T> {
    const why = this.consumerFailure
      ? 'its consumer failed'
      : this.receiverClosed
        ? 'the receiver closed it'
        : this.failure
          ? 'a producer failed it'
          : 'every sender closed it';
    const err = new ChannelClosedError(`${this.where}: channel is closed (${why})`, value);
    if (this.consumerFailure)
      Object.defineProperty(err, 'cause', {
        value: this.consumerFailure.error,
        configurable: true,
        writable: true,
      });
    return err;
  }

  private busy(what: string): ReceiverBusyError {
    return new ReceiverBusyError(
      `${this.where}: the receiver already has a consumer; ${what} must wait until it unsubscribes ` +
        `(mpsc serves one consumer at a time; use mpmc for competing consumers)`,
    );
  }
}
