import type { TryRecvResult } from '../tryRecvResult.js';
import type { BroadcastCore } from './broadcastCore.js';
import type { Reader, ReaderHandle } from './broadcastReader.js';
import type { Sink } from './demand.js';
import { WaitList } from './waiting/waitList.js';

/** A receiver handle's own `recv()` cursor, with its line of waiting calls. */
export class Handle<T> implements ReaderHandle<T> {
  readonly cursor: Reader<T>;
  private closedByUser = false;
  /** Waiting `recv()` calls; an aborted one leaves at once and withdraws its demand. */
  private readonly waiters = new WaitList<undefined, T>(() => this.core.withdraw(this.cursor));

  /** The handle's cursor delivers to the oldest waiting `recv()`. */
  readonly sink: Sink<T> = {
    next: (value) => this.waiters.peek()?.resolve(value),
    error: (err) => this.waiters.peek()?.reject(err),
    complete: () => {
      const err = this.core.endError(this);
      this.waiters.rejectAll(() => err);
    },
  };

  constructor(readonly core: BroadcastCore<T>) {
    this.cursor = core.openCursor(this);
  }

  get isClosed(): boolean {
    return this.closedByUser;
  }

  recv(signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.cursor.state === 'done') return Promise.reject(this.core.endError(this));
    const wait = this.waiters.wait(undefined, signal);
    this.core.request(this.cursor, 1);
    return wait.promise;
  }

  tryRecv(): TryRecvResult<T> {
    return this.core.tryRead(this.cursor);
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.core.closeHandle(this);
  }
}
