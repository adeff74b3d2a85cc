import type { TeardownLogic } from 'rxjs';
import type { ConsumerFailure, Demand, Sink } from './demand.js';
import { Ring } from './ring.js';
import { hideLink, restoreLink } from './roomLink.js';

/**
 * The output side of a working sluice stage (a pool, a delivery stage) for one subscription:
 * the `Demand` its consumer holds, and a Subscriber-like `next`/`error`/`complete`/`add`/`closed`
 * for the stage to emit through.
 *
 * - `credit` is what the consumer requested and has not yet received (Infinity for a plain
 *   subscriber). A stage starts work only while its unfinished work is below `credit`, so its
 *   results always have somewhere to go.
 * - A value emitted beyond the credit (a job that emits several results) is held, in order,
 *   until the consumer asks for more; completion and errors come after the held values.
 * - `onCredit` is called (as a loop, never recursively) whenever credit grew, so the stage can
 *   take more work; `onStop` when the consumer drains gracefully.
 * - `cancel()` (the consumer let go) and the end of the output run the teardowns added with
 *   `add`, once.
 */
export class Outlet<R> implements Demand {
  /** Requested by the consumer and not yet delivered. */
  credit = 0;
  /**
   * Called once, at the first request: where a stage subscribes to its source, so that a
   * synchronous source meets the consumer's demand and its unsubscription (`take(n)`).
   */
  onStart: (() => void) | undefined;
  /** Called whenever credit grew. */
  onCredit: (() => void) | undefined;
  /** Called when the consumer drains gracefully (`stop`). */
  onStop: (() => void) | undefined;
  private held: Ring<R> | undefined;
  private end: { readonly failed: boolean; readonly error?: unknown } | undefined;
  private done = false;
  private flushing = false;
  private waking = false;
  private again = false;
  private teardowns: Array<Exclude<TeardownLogic, void>> | undefined;

  constructor(private readonly sink: Sink<R>) {}

  /** True once the stage ended its output (even if held values still wait) or the consumer let go. */
  get closed(): boolean {
    return this.done || this.end !== undefined;
  }

  /** Values emitted beyond the credit, waiting for the consumer. */
  get backlog(): number {
    return this.held?.size ?? 0;
  }

  next(value: R): void {
    if (this.done || this.end !== undefined) return;
    if (this.credit > 0 && (this.held === undefined || this.held.size === 0)) {
      this.credit--;
      const link = hideLink();
      try {
        this.sink.next(value);
      } finally {
        restoreLink(link);
      }
      return;
    }
    (this.held ??= new Ring<R>(4)).push(value);
  }

  complete(): void {
    if (this.done || this.end !== undefined) return;
    this.end = { failed: false };
    this.flush();
  }

  error(error: unknown): void {
    if (this.done || this.end !== undefined) return;
    this.end = { failed: true, error };
    this.flush();
  }

  add(teardown: TeardownLogic): void {
    if (teardown === undefined || teardown === null) return;
    if (this.done) {
      runTeardown(teardown);
      return;
    }
    (this.teardowns ??= []).push(teardown);
  }

  request(n: number): void {
    if (this.done) return;
    this.credit += n;
    const onStart = this.onStart;
    if (onStart !== undefined) {
      this.onStart = undefined;
      onStart();
    }
    this.flush();
    if (this.done || this.end !== undefined) return;
    this.wake();
  }

  /** Set when the consumer let go because it failed: the stage passes it on upstream. */
  cancelledBy: ConsumerFailure | undefined;

  cancel(failure?: ConsumerFailure): void {
    if (this.done) return;
    this.done = true;
    this.cancelledBy = failure;
    this.held = undefined;
    this.finalize();
  }

  stop(): void {
    if (this.done || this.end !== undefined) return;
    this.onStop?.();
  }

  private wake(): void {
    const onCredit = this.onCredit;
    if (onCredit === undefined) return;
    if (this.waking) {
      this.again = true;
      return;
    }
    this.waking = true;
    try {
      do {
        this.again = false;
        if (this.done) return;
        onCredit();
      } while (this.again);
    } finally {
      this.waking = false;
    }
  }

  /** Delivers held values while there is credit, then the end once nothing is held. */
  private flush(): void {
    if (this.flushing || this.done) return;
    this.flushing = true;
    const link = hideLink();
    try {
      const held = this.held;
      if (held !== undefined) {
        while (held.size > 0 && this.credit > 0 && !this.done) {
          this.credit--;
          this.sink.next(held.shift());
        }
      }
      const end = this.end;
      if (end !== undefined && !this.done && (held === undefined || held.size === 0)) {
        this.done = true;
        try {
          if (end.failed) this.sink.error(end.error);
          else this.sink.complete();
        } finally {
          this.finalize();
        }
      }
    } finally {
      restoreLink(link);
      this.flushing = false;
    }
  }

  private finalize(): void {
    const teardowns = this.teardowns;
    this.teardowns = undefined;
    if (teardowns === undefined) return;
    let errors: unknown[] | undefined;
    for (const teardown of teardowns) {
      try {
        runTeardown(teardown);
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    if (errors !== undefined) throw errors.length === 1 ? errors[0] : new AggregateError(errors);
  }
}

function runTeardown(teardown: Exclude<TeardownLogic, void>): void {
  if (typeof teardown === 'function') teardown();
  else teardown.unsubscribe();
}
