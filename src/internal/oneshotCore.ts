import { ChannelClosedError } from '../errors.js';
import type { TryRecvResult } from '../tryRecvResult.js';
import type { Demand, Sink } from './demand.js';
import { Latch } from './waiting/latch.js';

/** One reader of the value: a subscription, an async iterator or a `recv()`. */
interface Reader<T> {
  readonly sink: Sink<T>;
  demand: number;
  /** False once the reader ended or was cancelled: nothing more reaches `sink`. */
  live: boolean;
  /** True once the value was handed over; a re-entrant `request` must not serve it twice. */
  served: boolean;
}

/**
 * - `pending`: nothing sent yet, both sides open;
 * - `sent`: the value is held and replayed to every reader;
 * - `closed`: ended without a value (the sender completed, or the receiver closed first);
 * - `failed`: the sender failed before sending.
 */
type State = 'pending' | 'sent' | 'closed' | 'failed';

const EMPTY: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'empty' });
const CLOSED: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'closed' });
const RESOLVED: Promise<void> = Promise.resolve();
const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

/**
 * The state of a `oneshot` channel: one slot, written at most once, read any number of times.
 *
 * Invariants:
 * - the state only moves forward: `pending` to one of `sent`, `closed`, `failed`, never back;
 * - a reader gets exactly one terminal outcome: the value then `complete`, or one `error`;
 * - a reader is served only after it requested a value; errors need no demand.
 */
export class OneshotCore<T> {
  state: State = 'pending';
  /** Times the value was handed to a reader. */
  received = 0;

  private value: T | undefined;
  private failure: unknown;
  /** Why the channel closed without a value, fixed at the moment it happened. */
  private closedWhy = '';
  /** True once the sender sent, completed or failed: it can never send again. */
  private senderDone = false;
  private receiverClosed = false;
  private readonly readers = new Set<Reader<T>>();
  /** Every `closed()` caller shares one promise (a new one if the channel opened again). */
  private closedLatch = new Latch();

  /** A send would fail: the value was sent, the sender ended, or the receiver closed. */
  get senderClosed(): boolean {
    return this.senderDone || this.receiverClosed;
  }

  // ---- sender side --------------------------------------------------------------------

  send(value: T): void {
    if (this.state === 'sent') {
      throw new ChannelClosedError(
        'oneshot: a value was already sent (a oneshot channel carries exactly one value)',
        value,
      );
    }
    if (this.senderDone) {
      throw new ChannelClosedError('oneshot: the sender is closed', value);
    }
    if (this.receiverClosed) {
      throw new ChannelClosedError('oneshot: the receiver closed the channel', value);
    }
    this.state = 'sent';
    this.value = value;
    this.senderDone = true;
    this.notifyClosed();
    for (const reader of this.readers) {
      if (reader.demand > 0) this.serve(reader);
    }
  }

  /** The sender ends; without a prior value every reader fails with `ChannelClosedError`. */
  complete(): void {
    if (this.senderDone) return;
    this.senderDone = true;
    this.notifyClosed();
    if (this.state === 'pending') {
      this.state = 'closed';
      this.closedWhy = 'oneshot: the sender closed without sending a value';
      this.failAll(this.closedError());
    }
  }

  /** The sender fails; ignored once the value was sent or the channel closed. */
  error(err: unknown): void {
    if (this.senderDone) return;
    this.senderDone = true;
    this.notifyClosed();
    if (this.state === 'pending') {
      this.state = 'failed';
      this.failure = err;
      this.failAll(err);
    }
  }

  closed(): Promise<void> {
    if (this.senderClosed) return RESOLVED;
    if (this.closedLatch.isOpen) this.closedLatch = new Latch();
    return this.closedLatch.wait();
  }

  // ---- receiver side ------------------------------------------------------------------

  /** The receiver closes: a held value stays readable; without one, readers fail. */
  closeReceiver(): void {
    if (this.receiverClosed) return;
    this.receiverClosed = true;
    this.notifyClosed();
    if (this.state === 'pending') {
      this.state = 'closed';
      this.closedWhy = 'oneshot: the receiver closed before a value was sent';
      this.failAll(this.closedError());
    }
  }

  get receiverIsClosed(): boolean {
    return this.receiverClosed;
  }

  tryRecv(): TryRecvResult<T> {
    if (this.state === 'sent') {
      this.received++;
      return { ok: true, value: this.value as T };
    }
    return this.state === 'pending' ? EMPTY : CLOSED;
  }

  recv(signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.state === 'sent') {
      this.received++;
      return Promise.resolve(this.value as T);
    }
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.state === 'closed') return Promise.reject(this.closedError());
    return new Promise<T>((resolve, reject) => {
      let cleanup: (() => void) | undefined;
      const demand = this.pull({
        next: (value) => {
          cleanup?.();
          resolve(value);
        },
        error: (err) => {
          cleanup?.();
          reject(err);
        },
        complete: () => {},
      });
      if (signal) {
        const onAbort = () => {
          demand.cancel();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      demand.request(1);
    });
  }

  /** A reader with zero demand; it gets the value (then `complete`) once it requested one. */
  pull(sink: Sink<T>): Demand {
    if (this.state === 'failed') {
      sink.error(this.failure);
      return NO_DEMAND;
    }
    if (this.state === 'closed') {
      sink.error(this.closedError());
      return NO_DEMAND;
    }
    const reader: Reader<T> = { sink, demand: 0, live: true, served: false };
    this.readers.add(reader);
    return {
      request: (n: number) => {
        if (!reader.live || reader.served) return;
        reader.demand += n;
        if (this.state === 'sent') this.serve(reader);
      },
      cancel: () => {
        reader.live = false;
        this.readers.delete(reader);
      },
    };
  }

  // ---- internals ----------------------------------------------------------------------

  private serve(reader: Reader<T>): void {
    this.readers.delete(reader);
    reader.served = true;
    this.received++;
    // `live` stays true during `next` so that a cancel from inside it suppresses `complete`.
    reader.sink.next(this.value as T);
    if (!reader.live) return;
    reader.live = false;
    reader.sink.complete();
  }

  private failAll(err: unknown): void {
    const readers = [...this.readers];
    this.readers.clear();
    for (const reader of readers) {
      if (!reader.live) continue;
      reader.live = false;
      reader.sink.error(err);
    }
  }

  private notifyClosed(): void {
    this.closedLatch.open();
  }

  private closedError(): ChannelClosedError {
    return new ChannelClosedError(this.closedWhy);
  }
}
