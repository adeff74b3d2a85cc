import type { Sink } from './demand.js';

/** What a reader that fell more than `capacity` behind gets. */
export type LagPolicy = 'skip' | 'error';

/** Validated `broadcast` settings. */
export interface BroadcastConfig {
  readonly capacity: number;
  readonly lag: LagPolicy;
  readonly onLag: ((skipped: number) => void) | undefined;
}

/**
 * Where a reader is in its life:
 * - `counted`: reads from the ring with its own cursor and counts for every new message;
 * - `live`: unlimited demand and caught up, so it is served synchronously on send, outside
 *   the ring (a plain RxJS subscription);
 * - `done`: ended; nothing reaches its sink any more.
 */
export type ReaderState = 'counted' | 'live' | 'done';

/**
 * One reader of a broadcast channel: a subscription, a pull consumer (`for await`,
 * `workerPool`), or a receiver handle's own `recv()` cursor (`handle` set). A reader owns no
 * queue: only a cursor into the one shared ring.
 */
export class Reader<T> {
  /** Sequence number of the next message this reader reads. */
  cursor: number;
  /** Values it may still be handed (Infinity for a plain subscription). */
  demand = 0;
  state: ReaderState = 'counted';
  /** In the set of readers waiting for the next message. */
  queued = false;
  /** Inside `drain`: a re-entrant request only raises demand, the running loop serves it. */
  draining = false;

  constructor(
    readonly sink: Sink<T>,
    /** The handle whose `recv()` cursor this is; lag errors reject one call, not the reader. */
    readonly handle: ReaderHandle<T> | undefined,
    cursor: number,
  ) {
    this.cursor = cursor;
  }
}

/** What the core needs of a receiver handle (`Handle` in `broadcastHandle.ts`). */
export interface ReaderHandle<T> {
  /** The handle's own `recv()` cursor. */
  readonly cursor: Reader<T>;
  /** Where its cursor delivers: the oldest waiting `recv()`. */
  readonly sink: Sink<T>;
  /** True once the user closed the handle. */
  readonly isClosed: boolean;
}
