import type { Observable } from 'rxjs';
import { BoundedStage } from '../boundedStage.js';
import { type Demand, isPullable, pull, type Sink, wantsReadAhead } from '../demand.js';
import type { BufferConfig } from '../policyBuffer.js';
import { withLink } from '../roomLink.js';

/**
 * The upstream of a flow-control stage (`rateLimit`, `batch`) as one `Demand`, whatever the
 * source is:
 * - a source at rest (a channel, `fromIterable`, `bounded`) is pulled directly: it gives exactly
 *   what the stage requests, so nothing is taken ahead of need;
 * - a working stage (a pool's results) is read through a `BoundedStage` of `config.capacity`,
 *   so that it may work that far ahead;
 * - a push source goes through a `BoundedStage` too: what arrives without demand is buffered
 *   under the overflow policy, and the stage's room is published to sluice sources reached
 *   through synchronous RxJS operators. It is subscribed at the first request (so that a
 *   synchronous source meets the stage's demand); `request(0)` subscribes it without demand.
 */
export function openUpstream<T>(
  source: Observable<T>,
  config: BufferConfig<T>,
  sink: Sink<T>,
  where: string,
): Demand<T> {
  if (isPullable<T>(source) && !wantsReadAhead(source)) {
    return withLink(undefined, () => source[pull](sink));
  }
  return new BoundedStage(source, config, sink, where);
}
