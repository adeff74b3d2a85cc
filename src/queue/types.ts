/**
 * Public option, result and record types of the message queue (`MessageQueue`, `QueueStore`,
 * `consumeQueue`). Results are discriminated objects: a call on a lease never throws for a bad
 * receipt, it says why it was refused.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { OverflowOptions } from '../overflow.js';
import type { ReceiptRejection } from '../receiptRejection.js';

/**
 * One delivery of a message: a lease on it until `deadline`. The receipt names this delivery,
 * not the message: after the lease ends (acknowledged, released, or run out) the receipt is
 * dead, and a redelivery of the same message carries a new one.
 */
export interface Delivery<T> {
  /** The message's id (given to `enqueue`, or generated). The same on every delivery. */
  readonly id: string;
  /** The payload, by reference: the object that was enqueued, never a copy. */
  readonly payload: T;
  /** Which attempt this is, from 1. Counted at delivery, so a crash or a timeout counts. */
  readonly attempt: number;
  /** Opaque token for `ack`, `nack`, `extend` and `release`; valid for this delivery only. */
  readonly receipt: string;
  /**
   * When the lease ends, in the queue's scheduler time (`scheduler.now()`), unless extended.
   * From this instant on the receipt is `'expired'`.
   */
  readonly deadline: number;
  /**
   * The headers given to `enqueue` (a copy, frozen), the same on every delivery; absent when
   * the message was enqueued without any. Trace context travels here (see `sluice/otel`).
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of `enqueue` and `send`. */
export interface EnqueueOptions {
  /**
   * The message's id, for deduplication: an id that is queued, in flight, or was enqueued
   * within the deduplication window is not enqueued again. Generated when absent; a generated
   * id given back here is refused while its message is live (it has no window: deduplicate
   * retries with ids of your own).
   */
  readonly id?: string;
  /** Milliseconds before the message becomes visible (SQS `DelaySeconds`). @default 0 */
  readonly delay?: number;
  /**
   * The message group: a group delivers one message at a time, in order (Kafka's per-partition
   * order with any number of competing consumers; SQS FIFO's `MessageGroupId`). The next
   * message of a group becomes visible only when the one before it is acknowledged or becomes a
   * dead letter; a message that is nacked, released or whose lease runs out keeps its place at
   * the head of its group. Different groups are independent. A message enqueued with a `delay`
   * takes its place in its group when the delay ends; a redriven dead letter joins the back of
   * its group. A non-empty string of at most 256 characters. @default no group
   */
  readonly group?: string;
  /**
   * Higher is delivered first; first in, first out within one priority. Inside a group the
   * group's order wins: a message waits behind the earlier messages of its group whatever their
   * priorities, and competes on its own priority once it heads its group. A whole number from
   * -1000000 to 1000000. @default 0
   */
  readonly priority?: number;
  /**
   * String names to string values carried beside the payload (trace context, a tenant, a
   * content type): copied at the call, handed back as `delivery.headers` on every delivery and
   * kept on its dead letter and through redrive. Names must be non-empty; names and values
   * together at most 16384 UTF-8 bytes (a `RangeError` beyond). Empty headers are none.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of `send`, the enqueue that may wait for room. */
export interface QueueSendOptions extends EnqueueOptions {
  /** Abandons the wait: the message is not enqueued; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * What `enqueue` did with a message.
 * - `ok: true`: it is queued (visible, or delayed), under `id`.
 * - `'duplicate'`: a message with this id is queued, in flight, or was enqueued within the
 *   deduplication window; nothing changed.
 * - `'dropped'`: the queue was full under the `'drop'` policy; the payload went to `onOverflow`.
 *   `id` is the id the caller gave, if any (none was generated for a message never stored).
 */
export type EnqueueResult =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly reason: 'duplicate'; readonly id: string }
  | { readonly ok: false; readonly reason: 'dropped'; readonly id: string | undefined };

// a leaf module, so that the errors that carry it need not import the queue
export type { ReceiptRejection };

/** What `ack` did: the message is gone, or why not. */
export type AckResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ReceiptRejection };

/**
 * What `nack` did. On success, `deadLettered` tells whether this was the last allowed attempt
 * and the message moved to the dead letters instead of back to the queue.
 */
export type NackResult =
  | { readonly ok: true; readonly deadLettered: boolean }
  | { readonly ok: false; readonly reason: ReceiptRejection };

/** What `extend` did: the lease's new deadline, or why not. */
export type ExtendResult =
  | { readonly ok: true; readonly deadline: number }
  | { readonly ok: false; readonly reason: ReceiptRejection };

/** What `release` did: the message is visible again and the attempt was not counted, or why not. */
export type ReleaseResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ReceiptRejection };

/** Options of `nack`. */
export interface NackOptions {
  /** Milliseconds before the message is visible again (SQS `ChangeMessageVisibility`). @default 0 */
  readonly delay?: number;
  /** Why the attempt failed; kept as the message's last error and shown on its dead letter. */
  readonly error?: unknown;
}

/** Options of `receive`, the long poll. */
export interface ReceiveOptions {
  /** The most deliveries to return. @default 1 */
  readonly max?: number;
  /**
   * Milliseconds to wait for the first message when none is visible (SQS `WaitTimeSeconds`);
   * `0` answers at once, `Infinity` waits until a message, `close()` or the signal. @default 0
   */
  readonly wait?: number;
  /** Abandons the wait: nothing is leased; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A message that used up its attempts, with how it got there. */
export interface QueueDeadLetter<T> {
  readonly id: string;
  /** The payload, by reference. */
  readonly payload: T;
  /** How many attempts were counted (equal to `maxAttempts`). */
  readonly attempts: number;
  /** The error given to the most recent `nack`, `undefined` if no attempt reported one. */
  readonly lastError: unknown;
  /**
   * Why it is dead: its last lease ended with a `nack` (`'nacked'`) or ran out (`'expired'`);
   * or a remote store found an entry it cannot read, foreign or corrupt (`'corrupt'`, with the
   * detail in `lastError` and `payload` undefined). The in-memory queue never reports `'corrupt'`.
   */
  readonly reason: 'nacked' | 'expired' | 'corrupt';
  /** When it was first enqueued, in scheduler time. */
  readonly enqueuedAt: number;
  /** When it was dead-lettered, in scheduler time. */
  readonly deadAt: number;
  /** The headers it was enqueued with; absent when none. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What `redrive` did, id by id. */
export interface RedriveResult {
  /** Ids moved back to the queue, in the order they were queued. */
  readonly redriven: readonly string[];
  /**
   * Ids that stayed dead letters: `'missing'` (no such dead letter), `'live'` (a message with
   * this id was enqueued again and is still live), or `'full'` (the queue is at capacity).
   */
  readonly skipped: ReadonlyArray<{
    readonly id: string;
    readonly reason: 'missing' | 'live' | 'full';
  }>;
}

/** A snapshot of the queue: where its messages are, and counters since it was created. */
export interface QueueStats {
  /**
   * Queued and not delayed: ready to be delivered, or waiting behind an earlier message of its
   * group.
   */
  readonly visible: number;
  /** Leased to a consumer. */
  readonly inFlight: number;
  /** Waiting for their delay (enqueued with one, or nacked with one). */
  readonly delayed: number;
  /** Dead letters kept. */
  readonly dead: number;
  /** Messages accepted by `enqueue`/`send`. */
  readonly enqueued: number;
  /** Enqueues refused as duplicates. */
  readonly duplicates: number;
  /** Messages discarded by the `'drop'` or `'replace'` overflow policy. */
  readonly dropped: number;
  /** Deliveries handed out (attempts, plus released ones). */
  readonly delivered: number;
  readonly acked: number;
  readonly nacked: number;
  /** Leases that ran out. */
  readonly expired: number;
  /** Leases given back by `release` or `close` without counting an attempt. */
  readonly released: number;
  readonly deadLettered: number;
  /** Dead letters moved back by `redrive`. */
  readonly redriven: number;
  /** Dead letters evicted because the dead-letter store was full (each went to `onEvict`). */
  readonly deadEvicted: number;
}

/**
 * Options of `schedule`: a message enqueued every `every` ms.
 *
 * Ticks fall on whole multiples of `every` on the queue's clock and tick `k` is enqueued with
 * the id `<schedule id>@<k>`, so the queue's deduplication keeps one message per tick however
 * many processes run the same schedule.
 */
export interface ScheduleOptions {
  /** Milliseconds between two messages, > 0. */
  readonly every: number;
  /** What each tick's enqueue did (`'duplicate'` when another process enqueued the tick first). */
  readonly onTick?: (result: EnqueueResult) => void;
  /**
   * A tick's enqueue failed (a full queue under `'error'`/`'block'`, a lost connection). The
   * schedule goes on. @default the error goes to RxJS's unhandled-error path
   */
  readonly onError?: (error: unknown) => void;
}

/** Options of `close`. */
export interface CloseOptions {
  /**
   * Milliseconds in-flight messages get to be acknowledged after `close`; then they are
   * released back to the queue without counting a failed attempt. `Infinity` waits for every
   * lease to end on its own (acknowledged, nacked, or expired). @default 0
   */
  readonly grace?: number;
}

/** What `close` did once it finished. */
export interface CloseResult {
  /** In-flight messages released back to the queue when the grace period ended. */
  readonly released: number;
}

/** Where messages go after `maxAttempts`, and how many are kept. */
export interface DeadLetterOptions<T> {
  /**
   * The most dead letters kept for listing and redrive. When full, the oldest is evicted,
   * reported to `onEvict` and counted in `stats().deadEvicted`. @default 10000
   */
  readonly capacity?: number;
  /** Called with each dead letter evicted to make room. */
  readonly onEvict?: (letter: QueueDeadLetter<T>) => void;
}

/** Options of `new MessageQueue()`. */
export interface MessageQueueOptions<T> extends OverflowOptions<T> {
  /**
   * Milliseconds a delivery is leased for, counted from that delivery. `0` leases nothing:
   * the message is visible again at once. `Infinity` never expires. @default 30000
   */
  readonly visibilityTimeout?: number;
  /**
   * Deliveries a message gets; when a lease ends unsuccessfully (nack or expiry) on the last
   * one, the message becomes a dead letter. `Infinity` retries forever. @default 5
   */
  readonly maxAttempts?: number;
  /**
   * The most live messages (visible + delayed + in flight) the queue holds; dead letters are
   * bounded separately by `deadLetter.capacity`. @default 10000
   */
  readonly capacity?: number;
  /**
   * Milliseconds after enqueue during which the same id is refused as a duplicate, even after
   * the message was acknowledged (SQS FIFO deduplication). Live messages are always
   * deduplicated. @default 300000
   */
  readonly dedupWindow?: number;
  /** Dead-letter store options. */
  readonly deadLetter?: DeadLetterOptions<T>;
  /** Clock and timers. @default a monotonic scheduler (`performance.now()`, immune to wall-clock changes) */
  readonly scheduler?: SchedulerLike;
  /**
   * The largest payload accepted, in bytes: a string counts its UTF-8 bytes, an `ArrayBuffer`,
   * typed array or `Blob` its size; other values are kept by reference, not measured, and
   * count as 0. A larger one is refused with `MessageTooLargeError`. @default 1048576 (1 MiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * The longest id accepted, in characters (an id is remembered for the deduplication window).
   * A longer one is refused with `MessageTooLargeError`. @default 256
   */
  readonly maxIdLength?: number;
}
