/**
 * The pull source `RedisQueue.consume` reads deliveries from (internal to `sluice/redis`).
 * @module
 */
import type { Delivery, ReceiveOptions } from 'sluice';
import type { Demand, Sink } from './demand.js';

/** The most deliveries one `receive` asks for (a plain subscriber's demand is unlimited). */
const MAX_RECEIVE = 1_000;

/** What the source needs from the queue. */
export interface DeliveryStore<T> {
  receive(options: ReceiveOptions): Promise<Delivery<T>[]>;
  release(receipt: string): Promise<unknown>;
  readonly isClosed: boolean;
}

/**
 * A demand-aware source of deliveries: it leases only what its consumer asked for, and asks
 * Redis for the whole of it at once. Requests made in one turn of the event loop (the workers
 * that a batch of acks freed together) become one `receive` of that many; a request that comes
 * while a `receive` is on its way starts another for the difference, so the queue's receive
 * scripts and the consumer's ack scripts overlap on the connection instead of taking turns.
 *
 * Each `receive` long-polls without a time limit: the queue wakes it on a new entry, a due
 * lease or delay, and at least every `blockTime`. `cancel()` aborts the receives on their way
 * (an aborted receive leases nothing); a delivery that still arrives after it is released.
 * The source completes when the queue's handle is closed.
 */
export function pullDeliveries<T>(store: DeliveryStore<T>, sink: Sink<Delivery<T>>): Demand {
  /** Requested and not yet delivered. */
  let demand = 0;
  /** Deliveries asked for by the receives on their way. */
  let asked = 0;
  let done = false;
  let scheduled = false;
  const receives = new Set<AbortController>();

  const giveBack = (delivery: Delivery<T>) => {
    store.release(delivery.receipt).then(undefined, () => {
      // the lease runs out on its own: nothing is lost
    });
  };
  const end = (finish: () => void) => {
    if (done) return;
    done = true;
    for (const controller of receives) controller.abort();
    receives.clear();
    finish();
  };
  const fetch = () => {
    scheduled = false;
    if (done) return;
    const want = Math.min(demand - asked, MAX_RECEIVE);
    if (want <= 0) return;
    if (store.isClosed) {
      end(() => sink.complete());
      return;
    }
    asked += want;
    const controller = new AbortController();
    receives.add(controller);
    store.receive({ max: want, wait: Number.POSITIVE_INFINITY, signal: controller.signal }).then(
      (batch) => {
        receives.delete(controller);
        asked -= want;
        for (const delivery of batch) {
          if (!done && demand > 0) {
            demand--;
            sink.next(delivery);
          } else giveBack(delivery);
        }
        if (done) return;
        if (batch.length === 0 && store.isClosed) end(() => sink.complete());
        else schedule();
      },
      (error: unknown) => {
        receives.delete(controller);
        asked -= want;
        end(() => sink.error(error));
      },
    );
  };
  const schedule = () => {
    if (scheduled || done) return;
    scheduled = true;
    queueMicrotask(fetch);
  };
  return {
    request: (n: number) => {
      if (done) return;
      demand += n;
      schedule();
    },
    cancel: () => end(() => {}),
  };
}
