/**
 * The storage interface of the message queue.
 * @module
 */
import type { Observable } from 'rxjs';
import type {
  AckResult,
  CloseOptions,
  CloseResult,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  ExtendResult,
  NackOptions,
  NackResult,
  QueueDeadLetter,
  QueueStats,
  ReceiveOptions,
  RedriveResult,
  ReleaseResult,
} from './types.js';

/** A value now, or a promise of it: what a store that may sit across a network returns. */
export type MaybePromise<T> = T | PromiseLike<T>;

/**
 * What a queue backend provides: the lease semantics of `MessageQueue` at the level a remote
 * store can make atomic (a Lua script, a transaction), each call returning its result now or
 * as a promise.
 *
 * `MessageQueue` is the in-memory `QueueStore` and the default one: every method answers
 * synchronously (a plain value is a `MaybePromise`), except `receive` and `close`, which may
 * wait. `consumeQueue(store, handler)` is written against this interface, so it runs a worker
 * pool on any store; `queue.consume(handler)` is `consumeQueue(queue, handler)`.
 *
 * A store must keep the contract `MessageQueue` documents: a visibility timeout counted from
 * each delivery; receipts that name one delivery, checked against the store's clock at the
 * time of the call; attempts counted at delivery; dead letters after `maxAttempts`; and
 * results, never exceptions, for a bad receipt. A rejected promise means the store itself
 * failed (a lost connection), not that the receipt was refused.
 *
 * `RedisQueue` (from `sluice/redis`) is this contract on Redis Streams, shared by many
 * processes; `docs/redis.md` says how it keeps each rule and where it differs.
 *
 * **Backpressure.** `enqueue` follows the store's capacity policy; `receive` hands out at
 * most `max` deliveries, so a consumer leases only what it asked for.
 *
 * **Errors.** Refused receipts are results. A store's own failure (I/O) rejects or throws;
 * `consumeQueue` turns that into an error of its outcome stream.
 *
 * **Cancellation.** `receive({ signal })`: an aborted long poll leases nothing. A store must
 * release, not lose, deliveries it could not hand to an aborted poll.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { MessageQueue, type QueueStore } from 'sluice';
 *
 * // Code written against QueueStore awaits each call, so it runs on memory and on a remote store alike.
 * async function drainOnce(store: QueueStore<string>): Promise<string[]> {
 *   const done: string[] = [];
 *   for (const delivery of await store.receive({ max: 10 })) {
 *     if ((await store.ack(delivery.receipt)).ok) done.push(delivery.payload);
 *   }
 *   return done;
 * }
 *
 * const queue = new MessageQueue<string>();
 * queue.enqueue('a');
 * queue.enqueue('b');
 * assert.deepEqual(await drainOnce(queue), ['a', 'b']);
 * await queue.close();
 * ```
 */
export interface QueueStore<T> {
  /** Milliseconds of a lease, counted from each delivery (used by `consumeQueue` to keep leases alive). */
  readonly visibilityTimeout: number;
  /** True once `close()` was called: no more deliveries. */
  readonly isClosed: boolean;
  /** Dead letters as they happen (hot: only those after subscribing). */
  readonly deadLettered: Observable<QueueDeadLetter<T>>;
  /** Adds a message, refusing a duplicate id. */
  enqueue(payload: T, options?: EnqueueOptions): MaybePromise<EnqueueResult>;
  /** Up to `max` deliveries, waiting up to `wait` ms for the first; `[]` when none came or the store closed. */
  receive(options?: ReceiveOptions): MaybePromise<readonly Delivery<T>[]>;
  /** Ends the lease successfully: the message is gone. */
  ack(receipt: string): MaybePromise<AckResult>;
  /** Ends the lease unsuccessfully: the message is visible again (after `delay`), or dead at `maxAttempts`. */
  nack(receipt: string, options?: NackOptions): MaybePromise<NackResult>;
  /** Moves the lease's deadline to `ms` from now. */
  extend(receipt: string, ms: number): MaybePromise<ExtendResult>;
  /** Gives the lease back without counting the attempt (shutdown, a delivery nobody will handle). */
  release(receipt: string): MaybePromise<ReleaseResult>;
  /** Counts and counters. */
  stats(): MaybePromise<QueueStats>;
  /** The dead letters kept, oldest first. */
  deadLetters(): MaybePromise<readonly QueueDeadLetter<T>[]>;
  /** Moves dead letters (all, or those with the given ids) back to the queue. */
  redrive(ids?: Iterable<string>): MaybePromise<RedriveResult>;
  /** No new deliveries; in-flight leases get `grace` ms, then are released. */
  close(options?: CloseOptions): Promise<CloseResult>;
  /**
   * Calls `onReleased` if `close()` releases the lease of `receipt` before it was settled, at
   * the moment it does (before the message can reach another consumer), so the handler
   * working on it can be stopped. Returns a function that stops watching; settling the lease
   * stops it too. `consumeQueue` uses it to abort a handler whose lease shutdown took away;
   * a store without it lets such handlers run on unaware.
   */
  watchRelease?(receipt: string, onReleased: () => void): () => void;
}
