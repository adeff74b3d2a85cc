import { ChannelClosedError } from '../errors.js';
import type { TryRecvResult } from '../tryRecvResult.js';
import type { Demand, Sink } from './demand.js';
import { Latch } from './waiting/latch.js';

/** A `changed()` or `recv()` waiting on a receiver handle for a version it has not seen. */
interface Waiter<T> {
  /** The method waiting (`changed` or `recv`), for error messages. */
  readonly where: string;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * A stream reader (a subscription, an async iterator, a pool) with its own cursor. It starts
 * with nothing seen, so its first delivery is the current value (like tokio's `WatchStream`).
 */
interface Cursor<T> {
  readonly handle: Handle<T>;
  readonly sink: Sink<T>;
  demand: number;
  /** The version last delivered; -1 before the first. */
  seen: number;
  /** False once ended or cancelled: nothing more reaches `sink`. */
  live: boolean;
}

/** A receiver handle (`rx` or a clone): its own seen version, waiters and stream readers. */
export interface Handle<T> {
  seen: number;
  open: boolean;
  readonly cursors: Set<Cursor<T>>;
  waiters: Set<Waiter<T>>;
}

type State = 'open' | 'closed' | 'failed';

const EMPTY: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'empty' });
const CLOSED: TryRecvResult<never> = Object.freeze({ ok: false, reason: 'closed' });
const RESOLVED: Promise<void> = Promise.resolve();
const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

/**
 * The state of a `watch` channel: one value, a version counter, and the readers' cursors.
 *
 * Invariants:
 * - `version` counts the values sent; every reader's seen version is <= `version`;
 * - a reader is only ever handed the current value, so it never sees values go backwards,
 *   and it sees each version at most once;
 * - a stream reader is served only when it has demand and an unseen version; it ends (complete
 *   or error) once the sender ended and it has seen the latest version;
 * - a handle's waiters exist only while it has seen the latest version and the sender is open.
 *
 * Delivery is re-entrancy safe: a reader may send, request, cancel, subscribe or close from
 * inside `next`; the pump loop picks such changes up before it returns.
 */
export class WatchCore<T> {
  value: T;
  /** Versions sent after the initial value. */
  version = 0;
  /** Times a reader (handle or stream) advanced to a newer version. */
  received = 0;
  /** Versions replaced before any receiver read them. */
  dropped = 0;
  /** Open receiver handles. */
  receiverCount = 1;

  /** The newest version any receiver read; the initial value counts as read (tokio). */
  private readVersion = 0;
  private state: State = 'open';
  private failure: unknown;
  private readonly cursors = new Set<Cursor<T>>();
  /** Handles with waiters. */
  private readonly waiting = new Set<Handle<T>>();
  private pumping = false;
  private again = false;
  /** Every `closed()` caller shares one promise (a new one if the channel opened again). */
  private closedLatch = new Latch();

  constructor(initial: T) {
    this.value = initial;
  }

  /** The sender closed or failed. */
  get senderEnded(): boolean {
    return this.state !== 'open';
  }

  /** Nothing sent can reach anyone new: the sender ended, or every receiver handle closed. */
  get senderClosed(): boolean {
    return this.state !== 'open' || this.receiverCount === 0;
  }

  // ---- sender side --------------------------------------------------------------------

  /** A new version of `value` (already stored or mutated in place) is published. */
  publish(): void {
    if (this.readVersion < this.version) this.dropped++;
    this.version++;
    this.pump();
  }

  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.notifyClosed();
    this.pump();
  }

  fail(err: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = err;
    this.notifyClosed();
    this.pump();
  }

  closed(): Promise<void> {
    if (this.senderClosed) return RESOLVED;
    if (this.closedLatch.isOpen) this.closedLatch = new Latch();
    return this.closedLatch.wait();
  }

  // ---- receiver handles ---------------------------------------------------------------

  /** The first handle; `clone` makes more. */
  firstHandle(): Handle<T> {
    return { seen: 0, open: true, cursors: new Set(), waiters: new Set() };
  }

  cloneHandle(from: Handle<T>): Handle<T> {
    if (!from.open) throw new ChannelClosedError('clone: this receiver is closed');
    this.receiverCount++;
    return { seen: from.seen, open: true, cursors: new Set(), waiters: new Set() };
  }

  closeHandle(handle: Handle<T>): void {
    if (!handle.open) return;
    handle.open = false;
    this.receiverCount--;
    const waiters = handle.waiters;
    handle.waiters = new Set();
    this.waiting.delete(handle);
    for (const waiter of waiters) waiter.reject(this.handleClosedError(waiter.where));
    for (const cursor of handle.cursors) {
      cursor.live = false;
      this.cursors.delete(cursor);
      cursor.sink.complete();
    }
    handle.cursors.clear();
    if (this.receiverCount === 0) this.notifyClosed();
  }

  borrow(): T {
    this.readVersion = this.version;
    return this.value;
  }

  borrowAndUpdate(handle: Handle<T>): T {
    this.mark(handle);
    return this.value;
  }

  hasChanged(handle: Handle<T>): boolean {
    return handle.open && handle.seen < this.version;
  }

  tryRecv(handle: Handle<T>): TryRecvResult<T> {
    if (!handle.open) return CLOSED;
    if (handle.seen < this.version) {
      this.mark(handle);
      return { ok: true, value: this.value };
    }
    return this.state === 'open' ? EMPTY : CLOSED;
  }

  /** Resolves with the value once `handle` has an unseen version, marking it seen. */
  wait(handle: Handle<T>, signal: AbortSignal | undefined, where: string): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!handle.open) return Promise.reject(this.handleClosedError(where));
    if (handle.seen < this.version) {
      this.mark(handle);
      return Promise.resolve(this.value);
    }
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.state === 'closed') return Promise.reject(this.senderClosedError(where));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { where, resolve, reject };
      if (signal) {
        const onAbort = () => {
          // Settled waiters were moved out of `handle.waiters`: then there is nothing to undo.
          if (!handle.waiters.delete(waiter)) return;
          if (handle.waiters.size === 0) this.waiting.delete(handle);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        };
        waiter.reject = (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        };
      }
      handle.waiters.add(waiter);
      this.waiting.add(handle);
    });
  }

  /** A stream reader on `handle`, with zero demand and the current value unseen. */
  pull(handle: Handle<T>, sink: Sink<T>): Demand {
    if (!handle.open) {
      sink.complete();
      return NO_DEMAND;
    }
    const cursor: Cursor<T> = { handle, sink, demand: 0, seen: -1, live: true };
    this.cursors.add(cursor);
    handle.cursors.add(cursor);
    return {
      request: (n: number) => {
        if (!cursor.live) return;
        cursor.demand += n;
        this.pump(cursor);
      },
      cancel: () => {
        if (!cursor.live) return;
        cursor.live = false;
        this.cursors.delete(cursor);
        handle.cursors.delete(cursor);
      },
    };
  }

  // ---- internals ----------------------------------------------------------------------

  private mark(handle: Handle<T>): void {
    if (handle.seen < this.version) {
      handle.seen = this.version;
      this.received++;
    }
    this.readVersion = this.version;
  }

  /**
   * Serves waiters and stream readers until nothing changes. With `only`, serves just that
   * reader (a `request`, O(1)) unless something else changed meanwhile.
   */
  private pump(only?: Cursor<T>): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      if (only !== undefined) {
        this.serve(only);
        if (!this.again) return;
      }
      do {
        this.again = false;
        if (this.waiting.size > 0) this.settleWaiters();
        for (const cursor of this.cursors) this.serve(cursor);
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private settleWaiters(): void {
    for (const handle of this.waiting) {
      const newer = handle.seen < this.version;
      if (!newer && this.state === 'open') continue;
      const waiters = handle.waiters;
      handle.waiters = new Set();
      this.waiting.delete(handle);
      if (newer) {
        this.mark(handle);
        const value = this.value;
        for (const waiter of waiters) waiter.resolve(value);
      } else {
        for (const waiter of waiters) {
          waiter.reject(
            this.state === 'failed' ? this.failure : this.senderClosedError(waiter.where),
          );
        }
      }
    }
  }

  private serve(cursor: Cursor<T>): void {
    if (!cursor.live) return;
    if (cursor.seen < this.version) {
      if (cursor.demand <= 0) return;
      cursor.demand--;
      cursor.seen = this.version;
      this.readVersion = this.version;
      this.received++;
      cursor.sink.next(this.value);
      // Cancelled inside `next`, or a newer version arrived (the pump loop runs again).
      if (!cursor.live || cursor.seen < this.version) return;
    }
    if (this.state === 'open') return;
    cursor.live = false;
    this.cursors.delete(cursor);
    cursor.handle.cursors.delete(cursor);
    if (this.state === 'failed') cursor.sink.error(this.failure);
    else cursor.sink.complete();
  }

  private notifyClosed(): void {
    this.closedLatch.open();
  }

  private senderClosedError(where: string): ChannelClosedError {
    return new ChannelClosedError(
      `${where}: the sender closed and the latest value was already seen`,
    );
  }

  private handleClosedError(where: string): ChannelClosedError {
    return new ChannelClosedError(`${where}: this receiver is closed`);
  }
}
