import type { Observable, OperatorFunction } from 'rxjs';
import { StageObservable } from '../demand.js';
import { Outlet } from '../outlet.js';

/**
 * The shell every demand-aware operator is built in (in the spirit of RxJS's `operate`): per
 * subscription, an `Outlet` for the consumer's demand and the output, handed with the source to
 * `init`, which builds the subscription's state (never in the operator factory, so that two
 * subscriptions share nothing) and wires its intake, teardown and demand callbacks to the
 * outlet. The result is a `StageObservable`: a sluice stage after it pulls from it.
 */
export function operate<I, O>(
  init: (source: Observable<I>, out: Outlet<O>) => void,
): OperatorFunction<I, O> {
  return (source) =>
    new StageObservable<O>((downstream) => {
      const out = new Outlet<O>(downstream);
      init(source, out);
      return out;
    });
}
