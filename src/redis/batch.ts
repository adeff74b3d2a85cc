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

  /**
   * @param flush Sends a batch; resolves with one result per argument, in order.
   * @param max The most calls in one batch.
   */
  constructor(
    private readonly flush: (args: A[]) => Promise<R[]>,
    private readonly max: number,
  ) {}

  /** Adds a call to the open batch. */
  add(arg: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ arg, resolve, reject });
      if (this.pending.length >= this.max) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.send();
        });
      }
    });
  }

  private send(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
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
