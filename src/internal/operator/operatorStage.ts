import type { Sink } from '../demand.js';
import type { Outlet } from '../outlet.js';

/** How the intake ended: completed, or failed with `error`. */
export interface Ending {
  readonly failed: boolean;
  readonly error?: unknown;
}

/**
 * The skeleton of one subscription to a working sluice operator (`atLeastOnce`, `idempotent`):
 * what RxJS's `OperatorSubscriber` is to its operators. It is the `Sink` of the operator's
 * intake and owns the three things each of them otherwise writes by hand:
 *
 * - **The ending.** The intake's completion or error does not end the output at once: it is
 *   kept in `ending`, no new message is taken, and the output completes or fails with it only
 *   when nothing accepted is still `busy()` (`checkEnd`, called whenever work finishes).
 * - **Guarded callbacks.** `guard(fn)` runs a user callback (`onRetry`, `onDuplicate`, a key
 *   function, ...); an exception fails the output at once, and `false` tells the caller to stop.
 * - **Failure upstream.** `fail(error)` records the failure before failing the output, so the
 *   teardown can pass it to the intake and a channel being read is closed with it.
 */
export abstract class OperatorStage<I, O> implements Sink<I> {
  ending: Ending | undefined;
  /** Set when this stage failed: its source is told, so a channel it reads closes. */
  failure: { readonly error: unknown } | undefined;

  constructor(readonly out: Outlet<O>) {}

  /** Whether accepted work is unfinished: the end waits for it. */
  protected abstract busy(): boolean;

  /** A message from the intake, while no ending is known. */
  protected abstract accept(message: I): void;

  next(message: I): void {
    if (this.ending === undefined) this.accept(message);
  }

  error(error: unknown): void {
    if (this.ending !== undefined) return;
    this.ending = { failed: true, error };
    this.checkEnd();
  }

  complete(): void {
    if (this.ending !== undefined) return;
    this.ending = { failed: false };
    this.checkEnd();
  }

  /** Fails the output at once, remembering why for the intake. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.out.error(error);
  }

  /** Runs a user callback; if it throws, the output fails and `false` is returned. */
  guard(callback: () => void): boolean {
    try {
      callback();
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** Ends the output with the intake's ending once nothing accepted is unfinished. */
  checkEnd(): void {
    const ending = this.ending;
    if (ending === undefined || this.out.closed || this.busy()) return;
    if (ending.failed) this.out.error(ending.error);
    else this.out.complete();
  }
}
