/**
 * Coalesces the calls made in one turn of the event loop into one script call (internal to
 * `sluice/redis`).
 * @module
 */

interface Pending<A, R> {
  readonly arg: A;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** How a `CallBatch` cuts its batches. */
export interface CallBatchOptions {
  /** The most calls in one batch: a full batch goes out at once. */
  readonly max: number;
  /**
   * Cuts a turn of at least `2 * halves` calls into two batches sent one after the other (0 or
   * absent: one batch per turn), so that the server runs the second while the process works
   * on the answer to the first; `cutting(false)` holds that back while it buys nothing.
   */
  readonly halves?: number;
}

/**
 * Collects calls until the current run of microtasks ends (or `max` are waiting), then sends
 * them together with `flush`, which answers one result per call, in order. A failure of the
 * flush rejects every call of that batch. Batches are sent as soon as they close: several may
 * be in flight at once, on one connection, pipelined by the client.
 *
 * No timer is involved: a call waits at most for the microtasks already queued, so a lone call
 * goes out in the same turn of the event loop, and calls made together (a batch of deliveries
 * settled by synchronous handlers, many `enqueue`s in a loop) share one round trip.
 */
export class CallBatch<A, R> {
  private pending: Pending<A, R>[] = [];
  private scheduled = false;
  private readonly max: number;
  private readonly halves: number;
  private cut = true;

  /**
   * @param flush Sends a batch; resolves with one result per argument, in order.
   * @param options The most calls in one batch, or the full options.
   */
  constructor(
    private readonly flush: (args: A[]) => Promise<R[]>,
    options: number | CallBatchOptions,
  ) {
    this.max = typeof options === 'number' ? options : options.max;
    this.halves = typeof options === 'number' ? 0 : (options.halves ?? 0);
  }

  /**
   * Whether large turns are cut in two (the default). A server that has other clients' calls
   * to run while this process works on an answer gains nothing from the cut, and pays a
   * second call for every turn.
   */
  cutting(on: boolean): void {
    this.cut = on;
  }

  /** Adds a call to the open batch. */
  add(arg: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ arg, resolve, reject });
      if (this.pending.length >= this.max) this.send(this.take());
      else if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.turnEnded);
      }
    });
  }

  /** The run of microtasks in which calls were added has ended: send them. */
  private readonly turnEnded = (): void => {
    this.scheduled = false;
    const batch = this.take();
    if (batch.length === 0) return;
    if (this.cut && this.halves > 0 && batch.length >= 2 * this.halves) {
      const half = Math.ceil(batch.length / 2);
      this.send(batch.slice(0, half));
      this.send(batch.slice(half));
    } else this.send(batch);
  };

  /** The pending calls, leaving none. */
  private take(): Pending<A, R>[] {
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  /** Sends `batch` (the pending calls, or a part of them). */
  private send(batch: Pending<A, R>[]): void {
    let sent: Promise<R[]>;
    try {
      sent = this.flush(batch.map((call) => call.arg));
    } catch (error) {
      for (const call of batch) call.reject(error);
      return;
    }
    sent.then(
      (results) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] as R);
      },
      (error: unknown) => {
        for (const call of batch) call.reject(error);
      },
    );
  }
}
