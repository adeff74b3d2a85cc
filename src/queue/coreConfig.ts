/**
 * What `MessageQueue` hands its engine (`QueueCore`): validated settings, and the order options
 * of one message (internal to the queue folder).
 * @module
 */

import type { SchedulerLike } from 'rxjs';
import type { Headers } from '../internal/headers.js';
import type { OverflowHandler, OverflowPolicy } from '../overflow.js';
import type { QueueDeadLetter } from './types.js';

/** Validated settings of a queue. */
export interface CoreConfig<T> {
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly onOverflow: OverflowHandler<T> | undefined;
  readonly dedupWindow: number;
  readonly deadCapacity: number;
  readonly onEvict: ((letter: QueueDeadLetter<T>) => void) | undefined;
  readonly scheduler: SchedulerLike;
}

/** A message's group and priority, when it has either (validated by the caller). */
export interface MessageOrder {
  readonly group: string | undefined;
  readonly priority: number;
}

/** A `send()` waiting for room under the `'block'` policy: what it will enqueue. */
export interface SendWaiter<T> {
  readonly payload: T;
  readonly id: string | undefined;
  readonly delay: number;
  readonly order: MessageOrder | undefined;
  readonly headers: Headers | undefined;
}
