/**
 * The options of `new RedisQueue()` and the client interface it expects.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { DeadLetterOptions, OverflowOptions, OverflowPolicy } from 'sluice';
import { optionNames } from '../internal/validate.js';
import type { RedisQueueSerializer } from './codec.js';

/**
 * The part of a Redis client the queue uses: an ioredis `Redis` (or `Cluster`) instance fits.
 * `call` sends one command; `duplicate` opens another connection with the same settings (the
 * queue opens one for blocking reads while a `receive` waits, and one while `deadLettered` has
 * subscribers, and closes them itself); `disconnect` closes such a connection.
 */
export interface RedisQueueConnection {
  /** Sends one command with its arguments; resolves with the reply. */
  call(command: string, args: Array<string | number>): Promise<unknown>;
  /** A new connection with the same settings (for blocking reads). */
  duplicate(): RedisQueueConnection;
  /** Closes the connection at once. */
  disconnect(): void;
}

/**
 * Where the lease clock comes from: `'redis'` (default) reads the Redis server's `TIME` inside
 * each script, so every process agrees on deadlines whatever their own clocks say;
 * `'scheduler'` uses `scheduler.now()` of the calling process (virtual time in tests).
 */
export type RedisQueueClock = 'redis' | 'scheduler';

/** Options of `new RedisQueue()`. */
export interface RedisQueueOptions<T> extends Omit<OverflowOptions<T>, 'overflow'> {
  /** The Redis connection (an ioredis client). The queue never closes it: its owner does. */
  readonly connection: RedisQueueConnection;
  /** The queue's name: every process that uses the same name (and prefix) shares the queue. */
  readonly name: string;
  /** Put before every key, e.g. the application's name. @default 'sluice:' */
  readonly prefix?: string;
  /** Milliseconds a delivery is leased for, counted from that delivery. @default 30000 */
  readonly visibilityTimeout?: number;
  /** Deliveries a message gets before it becomes a dead letter. @default 5 */
  readonly maxAttempts?: number;
  /**
   * The most live messages (visible + delayed + in flight) in Redis, counted across every
   * process. Overflow: `'block'` (default: `send` waits, `enqueue` rejects), `'error'`, or
   * `'drop'`; `'replace'` is not offered. @default 10000
   */
  readonly capacity?: number;
  /**
   * What a full queue does: `'block'` (`send` waits, `enqueue` rejects with
   * `ChannelFullError`), `'error'` (both reject) or `'drop'` (the new message is refused and
   * reported to `onOverflow`). `'replace'` is not offered, and is a compile error: evicting
   * another process's oldest message is not a safe default for a shared queue.
   * @default 'block'
   */
  readonly overflow?: Exclude<OverflowPolicy, 'replace'>;
  /** Milliseconds after enqueue during which the same id is refused as a duplicate. @default 300000 */
  readonly dedupWindow?: number;
  /** Dead-letter store options. */
  readonly deadLetter?: DeadLetterOptions<T>;
  /** Payloads to strings and back. @default jsonSerializer() */
  readonly serializer?: RedisQueueSerializer<T>;
  /** This process's consumer name in the group. @default `<hostname>:<pid>:<random>` */
  readonly consumer?: string;
  /** Where `now` comes from for leases, delays and the deduplication window. @default 'redis' */
  readonly clock?: RedisQueueClock;
  /** Timers (long-poll wait, wake-ups, close grace, send retries) and, with `clock: 'scheduler'`, the clock. @default a monotonic scheduler (`performance.now()`, immune to wall-clock changes); with `clock: 'scheduler'`, `asyncScheduler` (every process reads its wall clock) */
  readonly scheduler?: SchedulerLike;
  /**
   * The longest a blocking read waits before the queue looks again, in ms. Bounds how late a
   * waiting `receive` notices a lease that expired in another process. @default 1000
   */
  readonly blockTime?: number;
  /**
   * The largest payload accepted, in UTF-8 bytes of its serialized form; checked before
   * anything is sent. A larger one is refused with `MessageTooLargeError`. @default 1048576 (1 MiB)
   */
  readonly maxPayloadBytes?: number;
  /** The longest id accepted, in characters; a longer one is refused with `MessageTooLargeError`. @default 256 */
  readonly maxIdLength?: number;
}

/** The option names of `new RedisQueue()`, for refusing misspelled ones (internal). */
export const REDIS_QUEUE_OPTIONS = optionNames<RedisQueueOptions<unknown>>()({
  connection: 1,
  name: 1,
  prefix: 1,
  visibilityTimeout: 1,
  maxAttempts: 1,
  capacity: 1,
  overflow: 1,
  onOverflow: 1,
  dedupWindow: 1,
  deadLetter: 1,
  serializer: 1,
  consumer: 1,
  clock: 1,
  scheduler: 1,
  maxPayloadBytes: 1,
  maxIdLength: 1,
  blockTime: 1,
});
