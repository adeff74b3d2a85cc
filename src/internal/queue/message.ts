/**
 * One message of the in-memory queue and the names of where it is.
 * @module
 */
import type { Headers } from '../headers.js';

/** Ready to be delivered (on the visible line, or just given back). */
export const VISIBLE = 'visible';
/** Queued behind an earlier message of its group: visible once that one is acked or dead. */
export const GROUPED = 'grouped';
/** Waiting for its delay (enqueued with one, or nacked with one). */
export const DELAYED = 'delayed';
/** Leased to a consumer. */
export const IN_FLIGHT = 'inFlight';
/** Acknowledged: gone from the queue, remembered for its deduplication window. */
export const ACKED = 'acked';
/** A dead letter. */
export const DEAD = 'dead';
/** Discarded by an overflow policy, purged or evicted from the dead letters. */
export const GONE = 'gone';

export type MessageState =
  | typeof VISIBLE
  | typeof GROUPED
  | typeof DELAYED
  | typeof IN_FLIGHT
  | typeof ACKED
  | typeof DEAD
  | typeof GONE;

/** How the latest lease of a message ended, when it did not end with an ack. */
export const ENDED_EXPIRED = 1;
export const ENDED_RELEASED = 2;

export class QueueMessage<T> {
  /** Its entry in the lease heap (in flight) or the delayed heap (delayed), else -1. */
  heapHandle = -1;
  /** The current lease's deadline, while in flight. */
  deadline = 0;
  state: MessageState = VISIBLE;
  /** Attempts counted (deliveries minus released ones; reset by redrive). */
  attempts = 0;
  /** Deliveries ever made; numbers the receipts, so an old receipt is recognisably stale. */
  deliveries = 0;
  /** The receipt of the current lease, while in flight. */
  receipt: string | undefined = undefined;
  /** `ENDED_EXPIRED` or `ENDED_RELEASED`, or 0. */
  lastEnd = 0;
  lastError: unknown = undefined;
  /** Still inside its deduplication window (and on the window ring). */
  inWindow = false;
  /** Its place in the slab; `freed` once the slot may be reused. */
  slot = -1;
  freed = false;
  /** `<slot>.<seq>`: the stem of its receipts (and of its id when generated). */
  tag = '';
  /** Its message group, if it has one. */
  group: string | undefined = undefined;
  /** Higher is delivered first. */
  priority = 0;
  /** The headers given to enqueue, if any; dropped with the payload unless it is a dead letter. */
  headers: Headers | undefined = undefined;

  constructor(
    /** Set right after the slot is known when the id is generated. */
    public id: string,
    public payload: T | undefined,
    readonly seq: number,
    readonly enqueuedAt: number,
    /** The caller gave the id: it is deduplicated through the index and the window. */
    readonly named: boolean,
  ) {}
}

/** Whether the message is still in the queue: visible, waiting in its group, delayed or in flight. */
export function isLive(message: QueueMessage<unknown>): boolean {
  const state = message.state;
  return state === VISIBLE || state === IN_FLIGHT || state === DELAYED || state === GROUPED;
}

/** Whether the message left the queue for good or for now: acknowledged, dead or discarded. */
export function hasLeft(message: QueueMessage<unknown>): boolean {
  return !isLive(message);
}
