import type { Observable, SchedulerLike } from 'rxjs';
import type { Demand, Sink } from '../internal/demand.js';
import { pull } from '../internal/demand.js';
import { checkDuration, checkInteger, checkOptions, checkSignal } from '../internal/validate.js';
import {
  type ConsumeOptions,
  type ConsumeOutcome,
  consumeQueue,
  type MessageHandler,
} from './consume.js';
import {
  type BatchHandler,
  type ConsumeBatchOptions,
  consumeQueueBatch,
} from './consumeQueueBatch.js';
import { enqueueSettings } from './enqueueSettings.js';
import { messageQueueConfig } from './messageQueueConfig.js';
import { NACK_OPTIONS, RECEIVE_OPTIONS } from './optionNames.js';
import { QueueCore } from './queueCore.js';
import {
  checkIdList,
  closeGrace,
  consumeStore,
  consumeStoreBatch,
  type QueueConsumers,
} from './queueFamily.js';
import { RepeatingJobs } from './repeatingJobs.js';
import { checkPayloadSize, payloadBytes } from './sizeLimits.js';
import type { QueueStore } from './store.js';
import type {
  AckResult,
  CloseOptions,
  CloseResult,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  ExtendResult,
  MessageQueueOptions,
  NackOptions,
  NackResult,
  QueueDeadLetter,
  QueueSendOptions,
  QueueStats,
  ReceiveOptions,
  RedriveResult,
  ReleaseResult,
  ScheduleOptions,
} from './types.js';

const NAME = 'MessageQueue';
const CONSUMERS: QueueConsumers = { consumeQueue, consumeQueueBatch };

/**
 * A message queue with acknowledgements and a visibility timeout, in memory: SQS semantics for
 * one process, and the reference implementation of `QueueStore`.
 *
 * A delivery is a lease. Taking a message (`dequeue`, `receive`, `consume`) hides it for
 * `visibilityTimeout` counted from that delivery, and hands out a receipt that names that one
 * delivery. `ack(receipt)` deletes the message; `nack` gives it back (at once or after a delay);
 * `extend` moves the deadline; if the lease runs out, the message is visible again. Attempts
 * are counted at delivery, so a crashed consumer uses one up; when a lease ends unsuccessfully on
 * attempt `maxAttempts`, the message becomes a dead letter.
 *
 * ```text
 * enqueue(a)   dequeue ── a#1 (receipt r1) ── lease runs out ──┐
 *              dequeue ── a#2 (receipt r2) ── ack(r2): ok      │ a is visible again
 *              ack(r1) ── { ok: false, reason: 'stale' }  <────┘ r1 named an old delivery
 * ```
 *
 * Ordering: messages that were never delivered come out first in, first out. A message whose
 * lease ended (nack, expiry, release) or whose delay ran out joins the back of the visible
 * line, behind those already visible. Several consumers, redeliveries and delays all weaken
 * order: it is a work queue, not a log.
 *
 * Deduplication: an id that is queued, in flight, or was enqueued within `dedupWindow` (default
 * five minutes, as SQS FIFO) is refused as a duplicate, even after its message was
 * acknowledged. Without an id, a unique one is generated and kept only while the message lives.
 *
 * **Backpressure.** `capacity` (default 10000) bounds the live messages: visible + delayed +
 * in flight. A full queue applies `overflow`: `'block'` (default) makes `send` wait and
 * `enqueue` throw `ChannelFullError` (it cannot wait); `'error'` throws from both; `'drop'`
 * refuses the new message (`{ ok: false, reason: 'dropped' }`) and `'replace'` evicts the
 * oldest visible message (else the delayed one due first), both reported to `onOverflow`; under
 * `'replace'` with every message in flight, the enqueue fails with `ChannelFullError`. Dead
 * letters are kept apart, at most `deadLetter.capacity` (default 10000); the oldest beyond that
 * is evicted and reported to `deadLetter.onEvict`. Payloads are kept by reference, never
 * copied; an acknowledged message's payload is released at once. A string or binary payload
 * over `maxPayloadBytes` (default 1 MiB) and an id over `maxIdLength` (default 256) are refused
 * with `MessageTooLargeError`. Receipts carry 96 random bits and the queue's name: they cannot
 * be derived from an id or another receipt (docs/queue.md, Security). An id you gave is remembered
 * for `dedupWindow` after enqueue: memory grows with the enqueue rate times the window (set
 * `dedupWindow: 0` to deduplicate live messages only).
 *
 * **Errors.** Calls on a receipt never throw for a bad receipt: they return a result whose
 * `reason` says why (`'stale'`, `'expired'`, `'released'`, `'acked'`, `'unknown'`), and a
 * refused call changes nothing. Validity is decided by the clock at the time of the call: a
 * lease at or past its deadline is `'expired'` even if its timer has not fired yet, and that
 * expiry is processed right then (the message goes back, or to the dead letters). `enqueue`
 * after `close()` throws `ChannelClosedError`, a full queue `ChannelFullError`, both carrying
 * the payload. Bad arguments throw `TypeError`/`RangeError`.
 *
 * **Cancellation.** `receive({ signal })` and `send({ signal })` abandon their wait without
 * leasing or enqueuing anything. `close({ grace })` stops deliveries at once (waiting receives
 * resolve empty, consumers drain, waiting sends reject), gives in-flight messages `grace` ms to
 * be acknowledged, then releases the rest back to the queue without counting an attempt. All
 * timers go through `scheduler` (default: `asyncScheduler`'s timers on the monotonic `performance.now()` clock), one for the earliest lease deadline
 * and one for the earliest delayed message, clamped to 2^31-1 ms; after `close()` finishes no
 * timer is left.
 *
 * **Differences from SQS.** One process, no network: `dequeue` answers synchronously. Receipts
 * of old deliveries are refused (SQS accepts a late delete of a redelivered message in some
 * cases); a `nack` is explicit (SQS uses `ChangeMessageVisibility` to 0). Attempts reset when a
 * dead letter is redriven. `extend(receipt, ms)` sets the deadline to now + `ms` with no
 * 12-hour cap. Deduplication applies to every message with an id, not only FIFO queues.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { MessageQueue } from 'sluice';
 *
 * const queue = new MessageQueue<{ to: string }>({ visibilityTimeout: 30_000, maxAttempts: 3 });
 * assert.deepEqual(queue.enqueue({ to: 'ada@example.com' }, { id: 'welcome-ada' }), {
 *   ok: true,
 *   id: 'welcome-ada',
 * });
 * // the same id again is a duplicate, not a second message
 * assert.equal(queue.enqueue({ to: 'ada@example.com' }, { id: 'welcome-ada' }).ok, false);
 *
 * const delivery = queue.dequeue();
 * assert.ok(delivery);
 * assert.equal(delivery.attempt, 1);
 * assert.equal(queue.dequeue(), undefined); // leased: invisible to others
 * assert.deepEqual(queue.ack(delivery.receipt), { ok: true });
 * assert.deepEqual(queue.ack(delivery.receipt), { ok: false, reason: 'acked' });
 * assert.equal(queue.stats().acked, 1);
 * await queue.close();
 * ```
 */
export class MessageQueue<T> implements QueueStore<T> {
  private readonly core: QueueCore<T>;
  private readonly repeating: RepeatingJobs<T>;
  /** The largest payload accepted, in bytes (strings, binary data; see `maxPayloadBytes`). */
  readonly maxPayloadBytes: number;
  /** The longest id accepted, in characters. */
  readonly maxIdLength: number;
  /** Dead letters as they happen (hot); completes when `close()` finishes. */
  readonly deadLettered: Observable<QueueDeadLetter<T>>;

  /**
   * @param options `visibilityTimeout` (ms, default 30000), `maxAttempts` (default 5),
   *   `capacity` (default 10000), `overflow` (default `'block'`), `onOverflow`, `dedupWindow`
   *   (ms, default 300000), `deadLetter` (`{ capacity, onEvict }`), `scheduler`,
   *   `maxPayloadBytes` (default 1 MiB), `maxIdLength` (default 256).
   * @throws TypeError or RangeError for a bad option, naming it.
   */
  constructor(options?: MessageQueueOptions<T>) {
    const config = messageQueueConfig<T>(NAME, options);
    this.core = new QueueCore<T>(config.core);
    this.maxPayloadBytes = config.maxPayloadBytes;
    this.maxIdLength = config.maxIdLength;
    this.deadLettered = this.core.deadSubject.asObservable();
    const scheduler = this.core.scheduler;
    this.repeating = new RepeatingJobs<T>({
      name: NAME,
      scheduler,
      now: () => scheduler.now(),
      dedupWindow: config.core.dedupWindow,
      enqueue: (payload, options) => this.enqueue(payload, options),
    });
  }

  /** Milliseconds a delivery is leased for. */
  get visibilityTimeout(): number {
    return this.core.visibilityTimeout;
  }
  /** Deliveries a message gets before it becomes a dead letter. */
  get maxAttempts(): number {
    return this.core.maxAttempts;
  }
  /** The most live messages (visible + delayed + in flight). */
  get capacity(): number {
    return this.core.capacity;
  }
  /** The clock and timers of this queue. */
  get scheduler(): SchedulerLike {
    return this.core.scheduler;
  }
  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.core.closed;
  }

  /**
   * Adds a message, now or after `delay` ms. Synchronous: never waits.
   *
   * @param payload Stored by reference.
   * @param options `id` (for deduplication; generated when absent), `delay` (ms), `group` (one
   *   message of a group out at a time, in order) and `priority` (higher first; default 0).
   * @returns `{ ok: true, id }`, or `{ ok: false, reason: 'duplicate' | 'dropped', id }`.
   * @throws TypeError/RangeError for a bad option (naming it); ChannelClosedError after `close()`; ChannelFullError when full under `'block'` or
   *   `'error'` (use `send` to wait), both with the payload as `value`; MessageTooLargeError
   *   for a payload over `maxPayloadBytes` or an id over `maxIdLength` (carrying neither).
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { ChannelFullError, MessageQueue } from 'sluice';
   *
   * const queue = new MessageQueue<string>({ capacity: 1, overflow: 'error' });
   * queue.enqueue('first', { id: 'a' });
   * assert.deepEqual(queue.enqueue('again', { id: 'a' }), { ok: false, reason: 'duplicate', id: 'a' });
   * assert.throws(() => queue.enqueue('second'), ChannelFullError);
   * await queue.close();
   * ```
   */
  enqueue(payload: T, options?: EnqueueOptions): EnqueueResult {
    const where = `${NAME}.enqueue`;
    checkPayloadSize(where, payloadBytes(payload, this.maxPayloadBytes), this.maxPayloadBytes);
    if (options === undefined) return this.core.enqueue(payload, undefined, 0);
    const { id, delay, order, headers } = enqueueSettings(where, options, this.maxIdLength, false);
    return this.core.enqueue(payload, id, delay, order, false, headers);
  }

  /**
   * Adds a message, waiting for room when the queue is full under `'block'` (SQS `SendMessage`).
   * Under the other policies it answers like `enqueue`, as a promise.
   *
   * **Cancellation.** Aborting `signal` while waiting rejects with its reason; nothing is
   * enqueued. Waiting sends are admitted first come, first served, and refused with
   * `ChannelClosedError` by `close()`.
   *
   * @returns A promise of the `EnqueueResult`.
   */
  send(payload: T, options?: QueueSendOptions): Promise<EnqueueResult> {
    const where = `${NAME}.send`;
    try {
      const opts = enqueueSettings(where, options, this.maxIdLength, true);
      const { id, delay, signal, order, headers } = opts;
      checkPayloadSize(where, payloadBytes(payload, this.maxPayloadBytes), this.maxPayloadBytes);
      return this.core.send(payload, id, delay, signal, order, headers);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The next visible message, leased now, or `undefined`: a short poll that answers
   * synchronously. Due expiries and delays are processed first, so the answer reflects the
   * clock at the call.
   */
  dequeue(): Delivery<T> | undefined {
    return this.core.dequeue();
  }

  /**
   * Up to `max` deliveries, long-polling up to `wait` ms for the first (SQS `ReceiveMessage`):
   * answers as soon as at least one message is visible, with as many as are (up to `max`).
   * Resolves `[]` when the wait runs out or the queue closes. Waiting receives are served in
   * the order they started waiting; the wait's timer goes through the scheduler.
   *
   * **Cancellation.** Aborting `signal` rejects with its reason and leases nothing.
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { MessageQueue } from 'sluice';
   *
   * const queue = new MessageQueue<string>();
   * const polled = queue.receive({ max: 10, wait: 20_000 });
   * queue.enqueue('wake up'); // wakes the waiting receive at once
   * const [delivery] = await polled;
   * assert.equal(delivery?.payload, 'wake up');
   * await queue.close();
   * ```
   */
  receive(options?: ReceiveOptions): Promise<Delivery<T>[]> {
    const where = `${NAME}.receive`;
    try {
      const opts = checkOptions<ReceiveOptions>(where, options, RECEIVE_OPTIONS);
      const max = opts.max === undefined ? 1 : checkInteger(where, 'max', opts.max, 1);
      const wait = opts.wait === undefined ? 0 : checkDuration(where, 'wait', opts.wait, true);
      return this.core.receive(max, wait, checkSignal(where, opts.signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Acknowledges a delivery: the message is deleted and its payload released. Refused (and
   * nothing changes) when the receipt is stale, expired, released, already acknowledged or
   * unknown; see `ReceiptRejection`.
   */
  ack(receipt: string): AckResult {
    return this.core.ack(receipt);
  }

  /**
   * Ends a delivery unsuccessfully: the message is visible again at once, or after `delay` ms;
   * on its last attempt it becomes a dead letter instead (`deadLettered: true`). `error` is
   * kept as the message's last error.
   *
   * @throws RangeError for a bad `delay` (a bad receipt is a result, not an exception).
   */
  nack(receipt: string, options?: NackOptions): NackResult {
    if (options === undefined) return this.core.nack(receipt, 0, undefined);
    const where = `${NAME}.nack`;
    const opts = checkOptions<NackOptions>(where, options, NACK_OPTIONS);
    const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
    return this.core.nack(receipt, delay, opts.error);
  }

  /**
   * Moves a live lease's deadline to `ms` from now (SQS `ChangeMessageVisibility`), returning
   * the new deadline. `0` ends the lease now: it counts as an expiry.
   *
   * @throws RangeError for a bad `ms`.
   */
  extend(receipt: string, ms: number): ExtendResult {
    return this.core.extend(receipt, checkDuration(`${NAME}.extend`, 'ms', ms, true));
  }

  /**
   * Gives a lease back without counting the attempt: the message is visible again, behind
   * those already visible. For a consumer that is shutting down, or took more than it will handle.
   */
  release(receipt: string): ReleaseResult {
    return this.core.release(receipt);
  }

  /**
   * Calls `onReleased` if `close()` releases the lease of `receipt` before it was settled (the
   * `QueueStore` hook `consume` uses to abort a handler that shutdown cut off). Returns a
   * function that stops watching; settling the lease stops it too.
   */
  watchRelease(receipt: string, onReleased: () => void): () => void {
    return this.core.watchRelease(receipt, onReleased);
  }

  /** The dead letters kept, oldest first. */
  deadLetters(): QueueDeadLetter<T>[] {
    return this.core.deadLetters();
  }

  /**
   * Moves dead letters back to the queue (all, or those with the given ids), oldest first, to
   * the back of the visible line, with their attempts reset to 0 (SQS DLQ redrive). A dead
   * letter stays when its id is live again, or the queue is full; see `RedriveResult`.
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { MessageQueue } from 'sluice';
   *
   * const queue = new MessageQueue<string>({ maxAttempts: 1 });
   * queue.enqueue('poison', { id: 'p' });
   * const first = queue.dequeue()!;
   * assert.deepEqual(queue.nack(first.receipt, { error: new Error('boom') }), {
   *   ok: true,
   *   deadLettered: true,
   * });
   * assert.equal(queue.deadLetters()[0]?.reason, 'nacked');
   * assert.deepEqual(queue.redrive(['p']), { redriven: ['p'], skipped: [] });
   * assert.equal(queue.dequeue()?.attempt, 1); // attempts start over
   * await queue.close();
   * ```
   */
  redrive(ids?: Iterable<string>): RedriveResult {
    return this.core.redrive(checkIdList(`${NAME}.redrive`, ids));
  }

  /** Deletes dead letters (all, or those with the given ids) and returns them. */
  purgeDeadLetters(ids?: Iterable<string>): QueueDeadLetter<T>[] {
    return this.core.purgeDeadLetters(checkIdList(`${NAME}.purgeDeadLetters`, ids));
  }

  /**
   * A worker pool over this queue: `consumeQueue(this, handler, options)`, with the queue's
   * scheduler by default. See `consumeQueue` for the outcomes, draining and keep-alive.
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { MessageQueue } from 'sluice';
   *
   * const queue = new MessageQueue<string>();
   * queue.enqueue('a');
   * queue.enqueue('b');
   * const seen: string[] = [];
   * const done = new Promise<void>((resolve) => {
   *   queue
   *     .consume(async (message) => {
   *       seen.push(message.payload);
   *     }, { concurrency: 2 })
   *     .subscribe({ complete: resolve });
   * });
   * await queue.close({ grace: 1_000 }); // no new deliveries; running handlers finish
   * await done;
   * assert.deepEqual(seen.sort(), ['a', 'b']);
   * assert.equal(queue.stats().acked, 2);
   * ```
   */
  consume(handler: MessageHandler<T>, options?: ConsumeOptions<T>): Observable<ConsumeOutcome<T>> {
    return consumeStore(CONSUMERS, NAME, this, handler, options);
  }

  /**
   * A batch consumer over this queue: `consumeQueueBatch(this, handler, options)`, with the
   * queue's scheduler by default. Up to `size` deliveries go to one handler call; each message
   * is acknowledged or nacked on its own. See `consumeQueueBatch`.
   */
  consumeBatch(
    handler: BatchHandler<T>,
    options: ConsumeBatchOptions<T>,
  ): Observable<ConsumeOutcome<T>> {
    return consumeStoreBatch(CONSUMERS, NAME, this, handler, options);
  }

  /**
   * Enqueues `payload` every `options.every` ms until `unschedule(id)` or `close()`: a repeating
   * job. Calling it again with the same id replaces the schedule, so it is safe to call at
   * every start. Ticks fall on whole multiples of `every` on the queue's scheduler clock, and
   * tick `k` is enqueued with the id `<id>@<k>`, so the deduplication window keeps one message
   * per tick (the queue needs `dedupWindow > 0`). A tick missed while the process was stalled
   * is not made up. Each tick's result goes to `onTick`; a failed enqueue (a full queue under
   * `'error'` or `'block'`) goes to `onError`, and the schedule goes on.
   *
   * @throws TypeError or RangeError for a bad id or option, or after `close()`.
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { TestScheduler } from 'rxjs/testing';
   * import { MessageQueue } from 'sluice';
   *
   * const scheduler = new TestScheduler(assert.deepEqual);
   * scheduler.run(({ flush }) => {
   *   const queue = new MessageQueue<string>({ scheduler });
   *   queue.schedule('report', 'send the daily report', { every: 1_000 });
   *   scheduler.schedule(() => queue.unschedule('report'), 3_500);
   *   flush();
   *   const ids: string[] = [];
   *   for (let d = queue.dequeue(); d; d = queue.dequeue()) ids.push(d.id);
   *   assert.deepEqual(ids, ['report@1', 'report@2', 'report@3']);
   * });
   * ```
   */
  schedule(id: string, payload: T, options: ScheduleOptions): void {
    this.repeating.set(id, payload, options);
  }

  /** Stops the repeating job `id`; returns whether one was running. Messages already enqueued stay. */
  unschedule(id: string): boolean {
    return this.repeating.delete(id);
  }

  /**
   * Stops deliveries now and, after in-flight messages had `grace` ms to be settled, releases
   * the rest back to the queue without counting an attempt. Waiting receives resolve `[]`,
   * consumers drain and complete, waiting sends reject with `ChannelClosedError`; later
   * `enqueue` calls throw it. Messages stay in the queue (visible, delayed, dead) for
   * `stats()`, `deadLetters()` and `redrive`. Calling it again returns the same promise.
   *
   * @returns A promise that resolves when no lease is left, with how many were released.
   */
  close(options?: CloseOptions): Promise<CloseResult> {
    try {
      const grace = closeGrace(`${NAME}.close`, options);
      this.repeating.close();
      return this.core.close(grace);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Where the messages are now (due expiries and delays processed first) and the counters. */
  stats(): QueueStats {
    return this.core.stats();
  }

  /** @internal The demand protocol: a pull stream of deliveries, one lease per request. */
  [pull](sink: Sink<Delivery<T>>): Demand {
    return this.core.pull(sink);
  }
}
