import { Line, type Linked } from './line.js';

/**
 * One waiting call: an entry (what it waits with, e.g. the value a `send()` wants to deliver)
 * and the promise its caller awaits. It is its own place in its `WaitList` and its own abort
 * listener (`handleEvent`), so a wait costs one object and one promise.
 *
 * Settling it (served, refused, aborted) takes it out of the line, removes the abort listener
 * and drops the entry at once: an abandoned wait keeps nothing alive, and a long-lived
 * `AbortSignal` collects no listeners.
 */
export class Wait<E, R> implements Linked<Wait<E, R>> {
  prev: Wait<E, R> | undefined = undefined;
  next: Wait<E, R> | undefined = undefined;
  linked = false;
  readonly promise: Promise<R>;
  private settleOk!: (value: R) => void;
  private settleErr!: (error: unknown) => void;
  private entryValue: E | undefined;
  private signal: AbortSignal | undefined;
  private settled = false;

  constructor(
    private readonly list: WaitList<E, R>,
    entry: E,
    signal: AbortSignal | undefined,
  ) {
    this.entryValue = entry;
    this.promise = new Promise<R>((resolve, reject) => {
      this.settleOk = resolve;
      this.settleErr = reject;
    });
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this, { once: true });
    }
  }

  /** What the call waits with; `undefined` once settled. */
  get entry(): E {
    return this.entryValue as E;
  }

  /** Still waiting: neither served, refused nor aborted. */
  get pending(): boolean {
    return !this.settled;
  }

  resolve(value: R): void {
    if (this.leave()) this.settleOk(value);
  }

  reject(error: unknown): void {
    if (this.leave()) this.settleErr(error);
  }

  /** The abort listener. */
  handleEvent(): void {
    const signal = this.signal;
    const entry = this.entryValue as E;
    if (signal === undefined || !this.leave()) return;
    this.settleErr(signal.reason);
    this.list.aborted(entry);
  }

  private leave(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.list.remove(this);
    this.entryValue = undefined;
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
    return true;
  }
}

/**
 * The one abortable wait list: a first-in first-out line of waiting calls where an aborted call
 * leaves at once, wherever it stands, and the list's owner hears of it (`onAbort`, e.g. to end
 * a channel that was only waiting for that send). Used by every wait in sluice: blocked sends,
 * `recv()` lines, the queues' long polls.
 */
export class WaitList<E, R> extends Line<Wait<E, R>> {
  /**
   * @param onAbort called after an aborted call left the line, with the entry it waited with
   *   (which the wait itself no longer holds), e.g. to cancel a timer kept in it
   */
  constructor(private readonly onAbort?: (entry: E) => void) {
    super();
  }

  /**
   * Joins the line with `entry`. The returned wait is settled by the owner (`resolve`,
   * `reject`) or by `signal` (rejects with its reason). An already aborted signal is the
   * caller's to check first: this joins regardless.
   */
  wait(entry: E, signal?: AbortSignal): Wait<E, R> {
    const wait = new Wait<E, R>(this, entry, signal);
    this.push(wait);
    return wait;
  }

  /** Refuses every waiting call, first to last, with the error `errorFor` makes for its entry. */
  rejectAll(errorFor: (entry: E) => unknown): void {
    for (let wait = this.peek(); wait !== undefined; wait = this.peek()) {
      wait.reject(errorFor(wait.entry));
    }
  }

  /** Serves every waiting call, first to last, with `value`. */
  resolveAll(value: R): void {
    for (let wait = this.peek(); wait !== undefined; wait = this.peek()) wait.resolve(value);
  }

  /** Called by a wait that its signal aborted, after it left the line and rejected. */
  aborted(entry: E): void {
    this.onAbort?.(entry);
  }
}
