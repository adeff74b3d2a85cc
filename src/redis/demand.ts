/**
 * The one adapter between `sluice/redis` and sluice's internal demand protocol
 * (`src/internal/demand.ts`). Everything in this entry that is a demand-aware source goes
 * through here, so a change of the protocol touches this file only. The protocol's keys are
 * registered symbols, so the copy of the protocol this entry's bundle carries and the core's
 * are one and the same.
 * @module
 */
import { type Demand, pull, type Sink } from '../internal/demand.js';

export { PullObservable } from '../internal/demand.js';
export type { Demand, Sink };

/** Marks `target` as a pull source opened by `open`. */
export function makePullable<T, O extends object>(target: O, open: (sink: Sink<T>) => Demand): O {
  Object.defineProperty(target, pull, { value: open, enumerable: false });
  return target;
}
