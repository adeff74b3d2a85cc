/**
 * The one adapter between `sluice/redis` and sluice's internal demand protocol
 * (`src/internal/demand.ts`). Everything in this entry that is a demand-aware source or
 * consumer goes through here, so a change of the protocol touches this file only.
 *
 * Why an adapter: `sluice/redis` is a bundle of its own that imports the core as `'sluice'`.
 * The protocol's key is a symbol; the copy this bundle inlines and the one the core entry
 * uses may be two different symbols. A pull source made here carries both, so the core's
 * consumers (`workerPool`, `consumeQueue`, `for await` through the core) and this entry's
 * own code find it.
 * @module
 */
import { Observable } from 'rxjs';
import { fromIterable } from 'sluice';
import { type Demand, pull, type Sink } from '../internal/demand.js';

export type { Demand, Sink };

/** The key under which the core entry's consumers look for a pull source. */
function coreKey(): symbol {
  const probe = fromIterable<never>([]);
  for (const key of Object.getOwnPropertySymbols(probe)) {
    if (key.description === pull.description) return key;
  }
  return pull;
}

const KEYS: readonly symbol[] = Array.from(new Set([pull, coreKey()]));

/** Marks `target` as a pull source opened by `open` (under every key the protocol may use). */
export function makePullable<T, O extends object>(target: O, open: (sink: Sink<T>) => Demand): O {
  for (const key of KEYS) {
    Object.defineProperty(target, key, { value: open, enumerable: false });
  }
  return target;
}

/**
 * An Observable that is also a pull source: a plain `subscribe` asks for everything
 * (unlimited demand), a sluice consumer asks for what it can take.
 */
export function pullObservable<T>(open: (sink: Sink<T>) => Demand): Observable<T> {
  const observable = new Observable<T>((subscriber) => {
    const demand = open(subscriber);
    subscriber.add(() => demand.cancel());
    if (!subscriber.closed) demand.request(Number.POSITIVE_INFINITY);
    return () => demand.cancel();
  });
  return makePullable(observable, open);
}

/** Opens a pull subscription on a source made with `makePullable`. */
export function openPull<T>(source: object, sink: Sink<T>): Demand {
  return (source as Record<symbol, (sink: Sink<T>) => Demand>)[pull]!(sink);
}
