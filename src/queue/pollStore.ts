import type { Subscription } from 'rxjs';
import type { Demand, Sink } from '../internal/demand.js';
import { type ConsumeSettings, releaseQuietly, whenDone } from './consumeSettings.js';
import type { MaybePromise, QueueStore } from './store.js';
import type { Delivery } from './types.js';

/**
 * A pull source over any store's `receive`: while there is demand, one long poll at a time,
 * asking for as many deliveries as are wanted. Deliveries that arrive after the consumer
 * cancelled (or beyond its demand) are released, not dropped.
 */
export function pollStore<T>(
  store: QueueStore<T>,
  sink: Sink<Delivery<T>>,
  settings: ConsumeSettings<T>,
): Demand {
  const { scheduler, pollWait } = settings;
  let demand = 0;
  let done = false;
  let polling = false;
  let controller: AbortController | undefined;
  let pause: Subscription | undefined;
  let looping = false;
  let again = false;

  const end = (signalEnd: () => void) => {
    if (done) return;
    done = true;
    pause?.unsubscribe();
    controller?.abort();
    signalEnd();
  };
  // the lease of a delivery nobody wants is given back (or runs out): nothing is lost
  const giveBack = (delivery: Delivery<T>) => releaseQuietly(store, delivery.receipt);
  const onBatch = (batch: readonly Delivery<T>[], started: number) => {
    polling = false;
    for (const delivery of batch) {
      if (!done && demand > 0) {
        demand--;
        sink.next(delivery);
      } else giveBack(delivery);
    }
    if (done) return;
    if (batch.length === 0) {
      if (store.isClosed) {
        end(() => sink.complete());
        return;
      }
      const elapsed = scheduler.now() - started;
      const wait = elapsed >= pollWait ? 0 : Math.min(pollWait - elapsed, 1000);
      pause = scheduler.schedule(() => {
        pause = undefined;
        poll();
      }, wait);
      return;
    }
    poll();
  };
  const step = () => {
    if (done || polling || demand <= 0 || pause !== undefined) return;
    if (store.isClosed) {
      end(() => sink.complete());
      return;
    }
    polling = true;
    const ac = new AbortController();
    controller = ac;
    const started = scheduler.now();
    let result: MaybePromise<readonly Delivery<T>[]>;
    try {
      result = store.receive({ max: demand, wait: pollWait, signal: ac.signal });
    } catch (error) {
      polling = false;
      end(() => sink.error(error));
      return;
    }
    whenDone(
      result,
      (batch) => onBatch(batch, started),
      (error) => {
        polling = false;
        if (!done) end(() => sink.error(error));
      },
    );
  };
  /** Loops instead of recursing when a synchronous store answers inside `receive`. */
  const poll = () => {
    if (looping) {
      again = true;
      return;
    }
    looping = true;
    try {
      do {
        again = false;
        step();
      } while (again);
    } finally {
      looping = false;
    }
  };
  return {
    request: (n: number) => {
      if (done) return;
      demand += n;
      poll();
    },
    cancel: () => {
      if (done) return;
      done = true;
      pause?.unsubscribe();
      controller?.abort();
    },
  };
}
