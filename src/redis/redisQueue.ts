import { hostname } from 'node:os';
import {
  asyncScheduler,
  Observable,
  type SchedulerLike,
  Subject,
  type Subscriber,
  share,
  takeUntil,
} from 'rxjs';
import {
  type AckResult,
  type BatchHandler,
  ChannelClosedError,
  ChannelFullError,
  type CloseOptions,
  type CloseResult,
  type ConsumeBatchOptions,
  type ConsumeOptions,
  type ConsumeOutcome,
  consumeQueue,
  consumeQueueBatch,
  type DeadLetterOptions,
  type Delivery,
  type EnqueueOptions,
  type EnqueueResult,
  type ExtendResult,
  type MessageHandler,
  MessageTooLargeError,
  type NackOptions,
  type NackResult,
  type OverflowHandler,
  type OverflowOptions,
  type QueueDeadLetter,
  type QueueSendOptions,
  type QueueStats,
  type QueueStore,
  type ReceiptRejection,
  type ReceiveOptions,
  type RedriveResult,
  type ReleaseResult,
  type ScheduleOptions,
} from 'sluice';
import { scheduleAt as timerAt } from '../internal/deadlineTimer.js';
import { checkHeaders, type Headers } from '../internal/headers.js';
import { quoted } from '../internal/quietError.js';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { DEFAULT_MAX_ID_LENGTH, DEFAULT_MAX_PAYLOAD_BYTES, utf8Bytes } from '../internal/sizes.js';
import { monotonicScheduler } from '../internal/time/monotonicScheduler.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkInteger,
  checkOneOf,
  checkOptions,
  checkScheduler,
  checkSignal,
  describe,
  optionNames,
} from '../internal/validate.js';
import {
  CLOSE_OPTIONS,
  CONSUME_OPTIONS,
  DEAD_LETTER_OPTIONS,
  ENQUEUE_OPTIONS,
  NACK_OPTIONS,
  RECEIVE_OPTIONS,
  SEND_OPTIONS,
} from '../queue/optionNames.js';
import { RepeatingJobs } from '../queue/repeatingJobs.js';
import { CallBatch } from './batch.js';
import { checkConnection, checkSerializer } from './checkClient.js';
import { decodeError, encodeError, type RedisQueueSerializer, serializeOrThrow } from './codec.js';
import { purgeInPages, readDeadLetters, redriveInPages } from './deadLetterPages.js';
import { pullDeliveries } from './deliverySource.js';
import { makePullable } from './demand.js';
import { unwrapHeaders, wrapHeaders } from './headers.js';
import { type RedisQueueKeys, redisQueueKeys } from './keys.js';
import { NoncePool } from './nonces.js';
import { type Pass, ReceiveLoop } from './receiveLoop.js';
import { RedisCommandError } from './redisCommandError.js';
import { RECEIVE_CAP, type ScriptName, scripts } from './scripts.js';
import {
  isSettingsRefusal,
  SettingsGate,
  type SharedSettings,
  settingsMismatch,
} from './sharedSettings.js';

const NAME = 'RedisQueue';
/** The most enqueues or acks sent in one script call. */
const BATCH = 256;

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
export interface RedisQueueOptions<T> extends OverflowOptions<T> {
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

const REDIS_QUEUE_OPTIONS = optionNames<RedisQueueOptions<unknown>>()({
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

type Fields = string[];
type RawEntry = [string, Fields];

const ACK_OK: AckResult = Object.freeze({ ok: true });
const NACK_OK: NackResult = Object.freeze({ ok: true, deadLettered: false });
const NACK_DEAD: NackResult = Object.freeze({ ok: true, deadLettered: true });
const REASONS: readonly ReceiptRejection[] = ['stale', 'expired', 'released', 'acked', 'unknown'];
const COUNTERS = [
  'enqueued',
  'duplicates',
  'dropped',
  'delivered',
  'acked',
  'nacked',
  'expired',
  'released',
  'deadLettered',
  'redriven',
  'deadEvicted',
] as const;

function rejection(reason: unknown): { ok: false; reason: ReceiptRejection } {
  const known = REASONS.includes(reason as ReceiptRejection);
  return { ok: false, reason: known ? (reason as ReceiptRejection) : 'unknown' };
}

function fieldsOf(flat: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/**
 * The entries of a one-stream XREAD reply: `[[key, entries]]` over RESP2, `[key, entries]`
 * when the client flattens a RESP3 map (ioredis 6).
 */
function streamEntries(reply: unknown[] | null): RawEntry[] {
  if (reply === null || reply.length === 0) return [];
  const first = reply[0];
  if (typeof first === 'string') return (reply[1] as RawEntry[] | undefined) ?? [];
  return ((first as [string, RawEntry[]])[1] as RawEntry[] | undefined) ?? [];
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** A `limit` option as the scripts take it: -1 for Infinity. */
function limit(value: number): string {
  return value === Number.POSITIVE_INFINITY ? '-1' : String(value);
}

/**
 * The `MessageQueue` on Redis Streams: the same leases, receipts, attempts, dead letters and
 * deduplication, shared by every process that opens a queue of the same name on the same
 * Redis. A `QueueStore`, so `consumeQueue` (and `queue.consume`) runs on it unchanged.
 *
 * ```text
 * process A: enqueue ──XADD──▶ stream ──XREADGROUP──▶ process B: a#1 (lease in a sorted set)
 *                                                     B killed ── deadline passes ──┐
 *            process C: receive ◀── the entry is added again, attempt 2 ◀──────────┘
 *            B's receipt: { ok: false, reason: 'stale' } (checked in Lua)
 * ```
 *
 * How it maps onto Redis (the keys: `redisQueueKeys`; the details: docs/redis.md): `enqueue`
 * writes the message's hash and `XADD`s a pointer to it; `receive` runs one Lua script that
 * first processes due leases and delays, then `XREADGROUP`s up to `max` entries and records a
 * lease (deadline in a sorted set) for each; it long-polls with a blocking `XREAD` on a
 * connection of its own, bounded by `blockTime`. `ack`, `nack`, `extend`, `release` are Lua
 * scripts that first check the receipt (this queue's name, the delivery's number and its 96
 * random bits, the lease's deadline), so a consumer whose lease ran out cannot settle a
 * message another consumer now holds, and nobody can forge a receipt from an id, a deadline
 * or another receipt. A finished entry is deleted at once (`XACK` + `XDEL`), so the stream
 * holds only live messages and needs no trimming; nothing ever trims a pending entry.
 *
 * **Backpressure.** `capacity` bounds the live messages in Redis across all processes;
 * `overflow` `'block'` makes `send` wait (it polls, with back-off from 25 ms to 1 s, through
 * the scheduler) and `enqueue` reject with `ChannelFullError`; `'error'` rejects both; `'drop'`
 * answers `{ ok: false, reason: 'dropped' }` and calls `onOverflow`. `receive` leases at most
 * `max`, and at most 1,000 per call. Dead letters are bounded by `deadLetter.capacity`: the
 * oldest are evicted (at most 100 per call, the rest by later calls) and reported to
 * `deadLetter.onEvict` in the process whose call evicted them. No call does unbounded work in
 * Redis: whole-queue `redrive`, `purgeDeadLetters` and `deadLetters` read 500 dead letters
 * per call to Redis, targeted ones find them through an index.
 *
 * **Errors.** As `MessageQueue`: a bad receipt is a result, never an exception. Every method
 * returns a promise; bad arguments reject with `TypeError`/`RangeError`, a payload the
 * serializer cannot store rejects `enqueue` with a `TypeError` naming it, and a failure of
 * Redis itself (connection lost, command refused) rejects with an `Error` that names the call
 * and has a copy of the client's error as `cause` (name, message and code: never the
 * command's arguments, which may hold a password or a payload). A handle whose shared
 * settings (`capacity`, `maxAttempts`, `dedupWindow`, `deadLetter.capacity`) differ from those
 * the queue's first handle stored in Redis is refused: every call rejects with an `Error`
 * naming each difference. The queue retries nothing itself: the client's own
 * reconnect and retry settings (ioredis `maxRetriesPerRequest`) bound how long a call waits.
 * A call resent by the client after a reconnect is recognised by a token: an `ack` that had
 * succeeded answers `ok` again instead of `'acked'`. An entry the queue cannot read (a foreign
 * entry, a missing record, a payload the serializer cannot parse) is dead-lettered with the
 * reason in `lastError` and `payload` `undefined`, never handed to a consumer.
 *
 * **Cancellation.** `receive({ signal })` rejects at once and leases nothing: deliveries that
 * arrive for an aborted poll are released. `close({ grace })` closes this process's handle:
 * waiting receives resolve `[]`, waiting sends reject, leases handed out by this handle get
 * `grace` ms, then are released; the queue itself stays in Redis for the other processes.
 * The connections the queue opened are closed; the one it was given is not.
 *
 * **Differences from `MessageQueue`.** Every method is asynchronous (no `dequeue`). Payloads
 * are serialized: a consumer gets a copy, not the enqueued object, and `lastError` comes back
 * as an `Error` with the same name and message (or the JSON value). Counters in `stats()`
 * are the queue's in Redis, from every process. Expiry is processed when a script runs (any
 * `receive`, `stats`, or a call on that receipt, from any process), not by a timer: a waiting
 * `receive` wakes at the next deadline it knows of, or within `blockTime`. `deadLettered`
 * emits every dead letter of the queue, from any process, while subscribed. `send` under
 * `'block'` polls and is not first come, first served. `'replace'` is not offered. A
 * finished message is remembered (for `'acked'` answers and deduplication) until its
 * `dedupWindow` after enqueue ends; with `dedupWindow: 0` a late receipt answers `'unknown'`.
 * Dead letters of corrupt entries are not redriven (they would only fail again): purge them.
 *
 * @example
 * ```typescript redis
 * import assert from 'node:assert/strict';
 * import { Redis } from 'ioredis';
 * import { RedisQueue } from 'sluice/redis';
 *
 * const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const queue = new RedisQueue<{ to: string }>({ connection, name: 'emails', maxAttempts: 3 });
 * assert.deepEqual(await queue.enqueue({ to: 'ada@example.com' }, { id: 'welcome-ada' }), {
 *   ok: true,
 *   id: 'welcome-ada',
 * });
 * assert.equal((await queue.enqueue({ to: 'ada@example.com' }, { id: 'welcome-ada' })).ok, false);
 *
 * const [delivery] = await queue.receive({ max: 1, wait: 1_000 });
 * assert.ok(delivery);
 * assert.deepEqual(delivery.payload, { to: 'ada@example.com' }); // a copy, through JSON
 * assert.deepEqual(await queue.ack(delivery.receipt), { ok: true });
 * assert.deepEqual(await queue.ack(delivery.receipt), { ok: false, reason: 'acked' });
 * await queue.close();
 * connection.disconnect();
 * ```
 */
export class RedisQueue<T> implements QueueStore<T> {
  /** The Redis keys of this queue. */
  readonly keys: RedisQueueKeys;
  /** This handle's consumer name in the group. */
  readonly consumer: string;
  /** Dead letters of the whole queue as they happen (hot); completes when `close()` finishes. */
  readonly deadLettered: Observable<QueueDeadLetter<T>>;

  private readonly connection: RedisQueueConnection;
  private readonly vt: number;
  private readonly attempts: number;
  private readonly cap: number;
  private readonly policy: 'block' | 'error' | 'drop';
  private readonly onOverflow: OverflowHandler<T> | undefined;
  private readonly window: number;
  private readonly deadCapacity: number;
  private readonly onEvict: ((letter: QueueDeadLetter<T>) => void) | undefined;
  private readonly serializer: RedisQueueSerializer<T>;
  private readonly clock: RedisQueueClock;
  private readonly sched: SchedulerLike;
  private readonly blockTime: number;
  private readonly maxPayloadBytes: number;
  private readonly maxIdLength: number;
  private readonly config: string[];
  /** The first call stores or compares the shared settings (sharedSettings.ts). */
  private readonly gate: SettingsGate;
  private readonly tokenPrefix = Math.random().toString(36).slice(2, 10);
  private tokenSeq = 0;
  /** Enqueues of one turn of the event loop, sent as one script call. */
  private readonly enqueues = new CallBatch<Array<string | number>, [string, string]>(
    (args) =>
      this.run(`${NAME}.enqueue`, 'enqueue', [
        limit(this.cap),
        this.policy === 'drop' ? 'drop' : 'keep',
        ...args.flat(),
      ]).then((reply) => reply[0] as Array<[string, string]>),
    BATCH,
  );
  /** Acks of one turn of the event loop, sent as one script call. */
  private readonly acks = new CallBatch<[string, string], string>(
    (args) => this.run(`${NAME}.ack`, 'ack', args.flat()).then((reply) => reply[0] as string[]),
    BATCH,
  );

  /** Random parts of receipts. */
  private readonly nonces = new NoncePool();
  /** Every waiting receive of this handle, served by one loop of receive scripts. */
  private readonly receiver: ReceiveLoop<T>;
  private readonly repeating: RepeatingJobs<T>;

  /** Leases this handle handed out and has not seen end: receipt → deadline (store clock). */
  private readonly leases = new Map<string, number>();
  /** Handlers to stop when close() releases their lease: receipt → callback (`watchRelease`). */
  private readonly releaseWatchers = new Map<string, () => void>();
  /** Store clock minus scheduler clock, from the latest script reply. */
  private offset = 0;
  private readonly senders = new Set<(error: unknown) => void>();

  private closed = false;
  private closing: Promise<CloseResult> | undefined = undefined;
  private closeResolve: ((result: CloseResult) => void) | undefined = undefined;
  private graceTimer: { cancel(): void } | undefined = undefined;
  private finalized = false;
  private readonly closeNotifier = new Subject<void>();

  /**
   * @param options `connection` and `name` (required); `prefix`, `visibilityTimeout`,
   *   `maxAttempts`, `capacity`, `overflow`, `onOverflow`, `dedupWindow`, `deadLetter`,
   *   `serializer`, `consumer`, `clock`, `scheduler`, `blockTime`.
   * @throws TypeError or RangeError for a bad option, naming it. Nothing is sent to Redis
   *   until the first call.
   */
  constructor(options: RedisQueueOptions<T>) {
    const opts = checkOptions<RedisQueueOptions<T>>(NAME, options, REDIS_QUEUE_OPTIONS);
    this.connection = checkConnection(NAME, opts.connection);
    if (typeof opts.name !== 'string') {
      throw new TypeError(`${NAME}: name must be a non-empty string, got ${describe(opts.name)}`);
    }
    this.keys = redisQueueKeys(opts.name, opts.prefix === undefined ? 'sluice:' : opts.prefix);
    this.vt =
      opts.visibilityTimeout === undefined
        ? 30_000
        : checkDuration(NAME, 'visibilityTimeout', opts.visibilityTimeout, true);
    this.attempts =
      opts.maxAttempts === undefined
        ? 5
        : checkCapacity(NAME, 'maxAttempts', opts.maxAttempts, true);
    this.cap =
      opts.capacity === undefined ? 10_000 : checkCapacity(NAME, 'capacity', opts.capacity);
    this.policy =
      opts.overflow === undefined
        ? 'block'
        : checkOneOf(NAME, 'overflow', opts.overflow, ['block', 'error', 'drop'] as const);
    this.onOverflow = checkFunction<OverflowHandler<T>>(NAME, 'onOverflow', opts.onOverflow, true);
    this.window =
      opts.dedupWindow === undefined
        ? 300_000
        : checkDuration(NAME, 'dedupWindow', opts.dedupWindow, true);
    const dead = checkOptions<DeadLetterOptions<T>>(
      `${NAME}: deadLetter`,
      opts.deadLetter,
      DEAD_LETTER_OPTIONS,
    );
    this.deadCapacity =
      dead.capacity === undefined
        ? 10_000
        : checkCapacity(NAME, 'deadLetter.capacity', dead.capacity, true);
    this.onEvict = checkFunction<(letter: QueueDeadLetter<T>) => void>(
      NAME,
      'deadLetter.onEvict',
      dead.onEvict,
      true,
    );
    this.serializer = checkSerializer<T>(NAME, opts.serializer);
    this.maxPayloadBytes =
      opts.maxPayloadBytes === undefined
        ? DEFAULT_MAX_PAYLOAD_BYTES
        : checkCapacity(NAME, 'maxPayloadBytes', opts.maxPayloadBytes);
    this.maxIdLength =
      opts.maxIdLength === undefined
        ? DEFAULT_MAX_ID_LENGTH
        : checkCapacity(NAME, 'maxIdLength', opts.maxIdLength);
    if (
      opts.consumer !== undefined &&
      (typeof opts.consumer !== 'string' || opts.consumer === '')
    ) {
      throw new TypeError(
        `${NAME}: consumer must be a non-empty string, got ${describe(opts.consumer)}`,
      );
    }
    this.consumer =
      opts.consumer ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.clock =
      opts.clock === undefined
        ? 'redis'
        : checkOneOf(NAME, 'clock', opts.clock, ['redis', 'scheduler'] as const);
    // Timers run on the monotonic clock; a lease clock shared by processes (`clock:
    // 'scheduler'` without a scheduler of its own) cannot be one process's monotonic time.
    this.sched =
      checkScheduler<SchedulerLike>(NAME, opts.scheduler) ??
      (this.clock === 'scheduler' ? asyncScheduler : monotonicScheduler);
    this.blockTime =
      opts.blockTime === undefined ? 1_000 : checkInteger(NAME, 'blockTime', opts.blockTime, 1);
    this.config = [
      limit(this.attempts),
      limit(this.vt),
      limit(this.window),
      limit(this.deadCapacity),
    ];
    const shared: SharedSettings = {
      capacity: limit(this.cap),
      maxAttempts: limit(this.attempts),
      dedupWindow: limit(this.window),
      'deadLetter.capacity': limit(this.deadCapacity),
    };
    this.gate = new SettingsGate(async () => {
      const reply = await this.run(NAME, 'settings', Object.entries(shared).flat());
      return settingsMismatch(NAME, this.keys.base, shared, reply[0] as string[]);
    });
    this.deadLettered = new Observable<QueueDeadLetter<T>>((subscriber) =>
      this.tail(subscriber),
    ).pipe(takeUntil(this.closeNotifier), share());
    this.receiver = new ReceiveLoop<T>({
      scheduler: this.sched,
      blockTime: this.blockTime,
      streamKey: this.keys.stream,
      pass: (max) => this.pass(max),
      leased: (delivery) => this.leases.set(delivery.receipt, delivery.deadline),
      giveBack: (delivery) => this.giveBack(delivery),
      offset: () => this.offset,
      duplicate: () => this.connection.duplicate(),
    });
    // `consume` pulls deliveries in batches sized by its free workers (demand protocol).
    makePullable(this, (sink) => pullDeliveries(this, sink));
    // Processes number ticks alike on the wall clock (the lease clock stays Redis's).
    const sched = this.sched;
    this.repeating = new RepeatingJobs<T>({
      name: NAME,
      scheduler: sched,
      now: this.clock === 'scheduler' ? () => sched.now() : () => Date.now(),
      dedupWindow: this.window,
      enqueue: (payload, options) => this.enqueue(payload, options),
    });
  }

  /** Milliseconds a delivery is leased for. */
  get visibilityTimeout(): number {
    return this.vt;
  }
  /** Deliveries a message gets before it becomes a dead letter. */
  get maxAttempts(): number {
    return this.attempts;
  }
  /** The most live messages the queue holds in Redis. */
  get capacity(): number {
    return this.cap;
  }
  /** The timers of this handle. */
  get scheduler(): SchedulerLike {
    return this.sched;
  }
  /** True once `close()` was called on this handle. */
  get isClosed(): boolean {
    return this.closed;
  }

  // ---- calls into Redis ---------------------------------------------------------------

  private now(): string {
    return this.clock === 'redis' ? '' : String(Math.floor(this.sched.now()));
  }

  private token(): string {
    return `${this.tokenPrefix}.${++this.tokenSeq}`;
  }

  /** Runs a script by SHA, loading it with EVAL when the server does not know it yet. */
  private async run(
    where: string,
    name: ScriptName,
    args: Array<string | number>,
  ): Promise<unknown[]> {
    const gate = name === 'settings' ? undefined : this.gate.ready();
    if (gate !== undefined) await gate;
    const script = scripts[name];
    const declared = this.keys.declared;
    const tail = [declared.length, ...declared, this.now(), ...this.config, ...args];
    let reply: unknown;
    try {
      try {
        reply = await this.connection.call('EVALSHA', [script.sha, ...tail]);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        reply = await this.connection.call('EVAL', [script.lua, ...tail]);
      }
    } catch (error) {
      throw this.failure(where, error);
    }
    const list = reply as unknown[];
    this.report(list[list.length - 1] as Fields[]);
    return list;
  }

  private async command(
    where: string,
    command: string,
    args: Array<string | number>,
  ): Promise<unknown> {
    const gate = this.gate.ready();
    if (gate !== undefined) await gate;
    try {
      return await this.connection.call(command, args);
    } catch (error) {
      throw this.failure(where, error);
    }
  }

  /** A batched call's failure, named after the call that made it (`send` shares `enqueue`'s batch). */
  private rename(error: unknown, where: string): unknown {
    if (!(error instanceof Error) || error.message.startsWith(`${where}:`)) return error;
    if (isSettingsRefusal(error)) return error;
    return this.failure(where, error.cause ?? error);
  }

  private failure(where: string, error: unknown): Error {
    return new RedisCommandError(where, error);
  }

  /** Reports dead letters evicted by a script to `onEvict`. */
  private report(evicted: Fields[] | undefined): void {
    if (evicted === undefined || evicted.length === 0 || this.onEvict === undefined) return;
    for (const fields of evicted) this.onEvict(this.letter(fields));
  }

  private letter(flat: Fields): QueueDeadLetter<T> {
    const f = fieldsOf(flat);
    let payload: T | undefined;
    let headers: Headers | undefined;
    let lastError = decodeError(f.le);
    if (f.r !== 'corrupt') {
      try {
        const stored = unwrapHeaders(f.p ?? '');
        headers = stored.headers;
        payload = this.serializer.deserialize(stored.text);
      } catch (error) {
        lastError = error;
      }
    }
    const letter: QueueDeadLetter<T> = {
      id: f.i ?? '',
      payload: payload as T,
      attempts: Number(f.a ?? 0),
      lastError,
      reason: f.r === 'expired' || f.r === 'corrupt' ? f.r : 'nacked',
      enqueuedAt: Number(f.t ?? 0),
      deadAt: Number(f.d ?? 0),
    };
    return Object.freeze(headers === undefined ? letter : { ...letter, headers });
  }

  // ---- enqueue ------------------------------------------------------------------------

  /**
   * Adds a message, now or after `delay` ms (SQS `SendMessage`). The enqueues made in one turn
   * of the event loop go to Redis as one script call, in call order (a loop of `enqueue` calls
   * is the bulk form).
   *
   * @param payload Serialized at the call (a later change to the object is not seen).
   * @param options `id` (deduplicated; generated as `#<n>` when absent: a caller's id may not
   *   start with `#` unless it is a generated id given back, refused as a duplicate while its
   *   message is live) and `delay` (ms).
   * @returns `{ ok: true, id }`, or `{ ok: false, reason: 'duplicate' | 'dropped', id }`.
   *   Rejects with `TypeError` for a payload the serializer cannot store (nothing is sent),
   *   `ChannelClosedError` after `close()`, `ChannelFullError` when full under `'block'` or
   *   `'error'` (use `send` to wait), both carrying the payload.
   */
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    const where = `${NAME}.enqueue`;
    try {
      const { id, delay, text } = this.prepare(
        where,
        payload,
        checkOptions<EnqueueOptions>(where, options, ENQUEUE_OPTIONS),
      );
      return this.add(where, payload, text, id, delay).then((result) => {
        if (result === 'full') {
          throw this.fullError(
            payload,
            this.policy === 'block' ? '; enqueue() cannot wait, use await send()' : '',
          );
        }
        return result;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Adds a message, waiting for room when the queue is full under `'block'`: it tries again
   * with a back-off from 25 ms to 1 s (the scheduler's timers) until there is room, `signal`
   * aborts, or `close()` refuses it with `ChannelClosedError`. Other policies answer as
   * `enqueue`. Waiting senders of several processes are not served in order.
   *
   * @returns A promise of the `EnqueueResult`.
   */
  send(payload: T, options?: QueueSendOptions): Promise<EnqueueResult> {
    const where = `${NAME}.send`;
    try {
      const opts = checkOptions<QueueSendOptions>(where, options, SEND_OPTIONS);
      const signal = checkSignal(where, opts.signal);
      const { id, delay, text } = this.prepare(where, payload, opts);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return this.sendLoop(where, payload, text, id, delay, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private prepare(
    where: string,
    payload: T,
    opts: EnqueueOptions,
  ): { id: string | undefined; delay: number; text: string } {
    const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
    let id: string | undefined;
    if (opts.id !== undefined) {
      if (typeof opts.id !== 'string' || opts.id.length === 0) {
        throw new TypeError(`${where}: id must be a non-empty string, got ${describe(opts.id)}`);
      }
      id = opts.id;
      if (id.length > this.maxIdLength) {
        throw new MessageTooLargeError(where, 'maxIdLength', id.length, this.maxIdLength);
      }
    }
    const headers = checkHeaders(where, opts.headers);
    if (this.closed) throw new ChannelClosedError(`${NAME}: queue is closed`, payload);
    const text = serializeOrThrow(where, this.serializer, payload);
    const bytes = utf8Bytes(text, this.maxPayloadBytes);
    if (bytes > this.maxPayloadBytes) {
      throw new MessageTooLargeError(where, 'maxPayloadBytes', bytes, this.maxPayloadBytes);
    }
    return { id, delay: Math.ceil(delay), text: wrapHeaders(text, headers) };
  }

  private async add(
    where: string,
    payload: T,
    text: string,
    id: string | undefined,
    delay: number,
  ): Promise<EnqueueResult | 'full'> {
    let reply: [string, string];
    try {
      reply = await this.enqueues.add([text, id ?? '', delay, this.token()]);
    } catch (error) {
      throw this.rename(error, where);
    }
    switch (reply[0]) {
      case 'ok':
        return { ok: true, id: reply[1] };
      case 'duplicate':
        return { ok: false, reason: 'duplicate', id: reply[1] };
      case 'dropped':
        this.onOverflow?.(payload, 'drop');
        return { ok: false, reason: 'dropped', id };
      case 'reserved':
        throw new TypeError(
          `${where}: id must not start with '#' unless it is a generated id given back ` +
            `(generated ids are '#<n>'), got ${describe(id)}`,
        );
      default:
        return 'full';
    }
  }

  private async sendLoop(
    where: string,
    payload: T,
    text: string,
    id: string | undefined,
    delay: number,
    signal: AbortSignal | undefined,
  ): Promise<EnqueueResult> {
    let pause = 25;
    for (;;) {
      if (this.closed) throw new ChannelClosedError(`${NAME}: queue is closed`, payload);
      const result = await this.add(where, payload, text, id, delay);
      if (result !== 'full') return result;
      if (this.policy !== 'block') throw this.fullError(payload, '');
      await this.pause(pause, payload, signal);
      pause = Math.min(pause * 2, 1_000);
    }
  }

  /** Waits `ms` on the scheduler; rejects on abort or close. */
  private pause(ms: number, payload: T, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        timer.cancel();
        this.senders.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onClose = () => {
        done();
        reject(new ChannelClosedError(`${NAME}: queue is closed`, payload));
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = timerAt(this.sched, this.sched.now() + ms, () => {
        done();
        resolve();
      });
      this.senders.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private fullError(payload: T, detail: string): ChannelFullError<T> {
    return new ChannelFullError(`${NAME}: queue is full (capacity ${this.cap})${detail}`, payload);
  }

  // ---- receive ------------------------------------------------------------------------

  /**
   * Up to `max` deliveries, long-polling up to `wait` ms for the first (SQS `ReceiveMessage`).
   * Leases that ran out are processed first (their messages join the back of the stream), then
   * entries are read through the consumer group. While nothing is visible it waits on a
   * blocking read (woken by any new entry, from any process), on a timer for the next lease
   * deadline or delay it knows of, and at least every `blockTime` ms. Every waiting receive of
   * one handle shares one poll loop: each turn is one receive script for all of them, whose
   * deliveries go to them in the order they started waiting (so a thousand idle receives cost
   * one script per `blockTime`). One call returns at most 1,000 deliveries, whatever `max`.
   *
   * **Cancellation.** Aborting `signal` rejects with its reason and leases nothing: deliveries
   * read for it in the meantime are released.
   *
   * @returns Deliveries, or `[]` when the wait ran out or the handle closed.
   */
  receive(options?: ReceiveOptions): Promise<Delivery<T>[]> {
    const where = `${NAME}.receive`;
    try {
      const opts = checkOptions<ReceiveOptions>(where, options, RECEIVE_OPTIONS);
      const max = opts.max === undefined ? 1 : checkInteger(where, 'max', opts.max, 1);
      const wait = opts.wait === undefined ? 0 : checkDuration(where, 'wait', opts.wait, true);
      const signal = checkSignal(where, opts.signal);
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (this.closed) return Promise.resolve([]);
      return this.receiver.receive(max, wait, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** One receive script: due work, then up to `max` deliveries. */
  private async pass(max: number): Promise<Pass<T>> {
    const where = `${NAME}.receive`;
    const n = Math.min(max, RECEIVE_CAP);
    const reply = await this.run(where, 'receive', [this.consumer, n, this.nonces.take(n)]);
    const now = Number(reply[0]);
    // With the Redis clock, local time runs `offset` behind it (give or take the round trip).
    if (this.clock === 'redis') this.offset = now - this.sched.now();
    const deliveries: Delivery<T>[] = [];
    for (const raw of reply[3] as Array<[string, string, number, string, number]>) {
      const [id, text, attempt, receipt, deadline] = raw;
      let payload: T;
      let headers: Headers | undefined;
      try {
        const stored = unwrapHeaders(text);
        headers = stored.headers;
        payload = this.serializer.deserialize(stored.text);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        const reason = new TypeError(
          `${NAME}: message ${quoted(id)} has a payload the serializer cannot read (${detail})`,
        );
        await this.run(where, 'poison', [receipt, encodeError(reason)]);
        continue;
      }
      const delivery: Delivery<T> = {
        id,
        payload,
        attempt: Number(attempt),
        receipt,
        deadline: Number(deadline) < 0 ? Number.POSITIVE_INFINITY : Number(deadline),
      };
      deliveries.push(headers === undefined ? delivery : { ...delivery, headers });
    }
    return { deliveries, nextDue: Number(reply[1]), lastId: String(reply[2]) };
  }

  /** Releases a delivery nobody will handle (its poll was aborted); failures leave it to expire. */
  private giveBack(delivery: Delivery<T>): void {
    this.run(`${NAME}.receive`, 'release', [delivery.receipt, this.token()]).then(
      () => {},
      () => {},
    );
  }

  // ---- leases -------------------------------------------------------------------------

  /**
   * Acknowledges a delivery: the entry is acknowledged and deleted and the payload dropped,
   * after the script checked the receipt (owner, delivery count, deadline). Refused, changing
   * nothing, when the receipt is stale, expired, released, already acknowledged or unknown.
   * The acks made in one turn of the event loop go to Redis as one script call; each receipt
   * is still checked alone and gets its own answer.
   */
  async ack(receipt: string): Promise<AckResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.acks.add([receipt, this.token()]);
    this.leaseEnded(receipt);
    return reply === 'ok' ? ACK_OK : rejection(reply);
  }

  /**
   * Ends a delivery unsuccessfully: visible again at once (at the back of the stream), or
   * after `delay` ms, or a dead letter on its last attempt (`deadLettered: true`). `error` is
   * stored as the message's last error.
   */
  async nack(receipt: string, options?: NackOptions): Promise<NackResult> {
    const where = `${NAME}.nack`;
    const opts = checkOptions<NackOptions>(where, options, NACK_OPTIONS);
    const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.run(where, 'nack', [
      receipt,
      this.token(),
      Math.ceil(delay),
      encodeError(opts.error),
    ]);
    this.leaseEnded(receipt);
    if (reply[0] === 'ok') return NACK_OK;
    if (reply[0] === 'dead') return NACK_DEAD;
    return rejection(reply[0]);
  }

  /** Moves a live lease's deadline to `ms` from now; `0` ends it as an expiry. */
  async extend(receipt: string, ms: number): Promise<ExtendResult> {
    const where = `${NAME}.extend`;
    const span = checkDuration(where, 'ms', ms, true);
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.run(where, 'extend', [receipt, limit(Math.ceil(span))]);
    if (reply[0] !== 'ok') {
      this.leaseEnded(receipt);
      return rejection(reply[0]);
    }
    const deadline = Number(reply[1]) < 0 ? Number.POSITIVE_INFINITY : Number(reply[1]);
    if (this.leases.has(receipt)) this.leases.set(receipt, deadline);
    return { ok: true, deadline };
  }

  /** Gives a lease back without counting the attempt: the message joins the back of the stream. */
  async release(receipt: string): Promise<ReleaseResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.run(`${NAME}.release`, 'release', [receipt, this.token()]);
    this.leaseEnded(receipt);
    return reply[0] === 'ok' ? ACK_OK : rejection(reply[0]);
  }

  /**
   * Calls `onReleased` if `close()` releases the lease of `receipt` before it was settled, just
   * before the release reaches Redis (so the handler stops before another process can receive
   * the message). Returns a function that stops watching; settling the lease stops it too.
   */
  watchRelease(receipt: string, onReleased: () => void): () => void {
    if (!this.leases.has(receipt)) return () => {};
    this.releaseWatchers.set(receipt, onReleased);
    return () => {
      if (this.releaseWatchers.get(receipt) === onReleased) this.releaseWatchers.delete(receipt);
    };
  }

  private leaseEnded(receipt: string): void {
    this.releaseWatchers.delete(receipt);
    if (!this.leases.delete(receipt)) return;
    if (this.leases.size === 0 && this.closing !== undefined && !this.finalized) this.finalize(0);
  }

  // ---- dead letters -------------------------------------------------------------------

  /** The dead letters kept, oldest first (due expiries are processed first). */
  async deadLetters(): Promise<QueueDeadLetter<T>[]> {
    const where = `${NAME}.deadLetters`;
    await this.run(where, 'stats', []);
    const entries = await readDeadLetters(this.deadAccess(), where);
    return entries.map(([, fields]) => this.letter(fields));
  }

  /**
   * Moves dead letters (all, or those with the given ids) back to the back of the stream with
   * their attempts reset; see `RedriveResult` for what stays.
   */
  async redrive(ids?: Iterable<string>): Promise<RedriveResult> {
    const where = `${NAME}.redrive`;
    const list = this.idList(where, ids);
    const reply = await redriveInPages(this.deadAccess(), where, limit(this.cap), list);
    const skipped = reply.skipped.map(([id, reason]) => ({
      id,
      reason: reason as 'missing' | 'live' | 'full',
    }));
    return { redriven: reply.redriven, skipped };
  }

  /** Deletes dead letters (all, or those with the given ids) and returns them. */
  async purgeDeadLetters(ids?: Iterable<string>): Promise<QueueDeadLetter<T>[]> {
    const where = `${NAME}.purgeDeadLetters`;
    const list = this.idList(where, ids);
    const purged = await purgeInPages(this.deadAccess(), where, list);
    return purged.map((fields) => this.letter(fields));
  }

  private deadAccess() {
    return {
      run: (where: string, name: ScriptName, args: Array<string | number>) =>
        this.run(where, name, args),
      command: (where: string, command: string, args: Array<string | number>) =>
        this.command(where, command, args),
      dead: this.keys.dead,
    };
  }

  private idList(where: string, ids: unknown): string[] | undefined {
    if (ids === undefined) return undefined;
    if (
      ids === null ||
      typeof ids !== 'object' ||
      typeof (ids as Iterable<unknown>)[Symbol.iterator] !== 'function'
    ) {
      throw new TypeError(`${where}: ids must be an iterable of ids, got ${describe(ids)}`);
    }
    const list = Array.from(ids as Iterable<unknown>);
    for (const id of list) {
      if (typeof id !== 'string' || id.length === 0) {
        throw new TypeError(`${where}: id must be a non-empty string, got ${describe(id)}`);
      }
    }
    return list as string[];
  }

  /** Tails the dead-letter stream on a connection of its own while subscribed. */
  private tail(subscriber: Subscriber<QueueDeadLetter<T>>): () => void {
    if (this.finalized) {
      subscriber.complete();
      return () => {};
    }
    let stopped = false;
    let conn: RedisQueueConnection | undefined;
    const where = `${NAME}.deadLettered`;
    const loop = async () => {
      // Read the starting point on the main connection: ordered before any later call of
      // this handle, so no dead letter this process causes after subscribing is missed.
      const last = (await this.command(where, 'XREVRANGE', [
        this.keys.dead,
        '+',
        '-',
        'COUNT',
        1,
      ])) as RawEntry[];
      let lastId = last[0]?.[0] ?? '0-0';
      if (stopped) return;
      conn = this.connection.duplicate();
      while (!stopped) {
        const reply = (await conn.call('XREAD', [
          'COUNT',
          100,
          'BLOCK',
          this.blockTime,
          'STREAMS',
          this.keys.dead,
          lastId,
        ])) as unknown[] | null;
        if (stopped) return;
        for (const [id, fields] of streamEntries(reply)) {
          lastId = id;
          subscriber.next(this.letter(fields));
        }
      }
    };
    loop().catch((error: unknown) => {
      if (!stopped) subscriber.error(this.failure(where, error));
    });
    return () => {
      stopped = true;
      conn?.disconnect();
    };
  }

  // ---- stats and close ----------------------------------------------------------------

  /** Where the messages are now (due expiries and delays processed first) and the queue's counters. */
  async stats(): Promise<QueueStats> {
    const reply = await this.run(`${NAME}.stats`, 'stats', []);
    const counters = fieldsOf(reply[4] as Fields);
    const stats: Record<string, number> = {
      visible: Number(reply[0]),
      inFlight: Number(reply[1]),
      delayed: Number(reply[2]),
      dead: Number(reply[3]),
    };
    for (const name of COUNTERS) stats[name] = Number(counters[name] ?? 0);
    return stats as unknown as QueueStats;
  }

  /**
   * A worker pool over this queue: `consumeQueue(this, handler, options)`, with this handle's
   * scheduler by default. Run it in as many processes as you like: they share the work.
   * Deliveries are pulled, not polled: the workers freed in one turn become one `receive` of
   * that many, sent while acks are still on their way (`pollWait` is not used).
   */
  consume(handler: MessageHandler<T>, options?: ConsumeOptions<T>): Observable<ConsumeOutcome<T>> {
    const opts = checkOptions<ConsumeOptions<T>>(`${NAME}.consume`, options, CONSUME_OPTIONS);
    return consumeQueue(this, handler, { ...opts, scheduler: opts.scheduler ?? this.sched });
  }

  /**
   * A batch consumer over this queue: `consumeQueueBatch(this, handler, options)`, with this
   * handle's scheduler by default. Up to `size` deliveries go to one handler call; each message
   * is acknowledged or nacked on its own (their acks share script calls).
   */
  consumeBatch(
    handler: BatchHandler<T>,
    options: ConsumeBatchOptions<T>,
  ): Observable<ConsumeOutcome<T>> {
    const opts = checkOptions<ConsumeBatchOptions<T>>(`${NAME}.consumeBatch`, options);
    return consumeQueueBatch(this, handler, {
      ...opts,
      scheduler: opts.scheduler ?? this.sched,
    } as ConsumeBatchOptions<T>);
  }

  /**
   * Enqueues `payload` every `options.every` ms until `unschedule(id)` or `close()`, as
   * `MessageQueue.schedule` does. Ticks fall on whole multiples of `every` of the wall clock
   * (of `scheduler.now()` with `clock: 'scheduler'`) and tick `k` is enqueued with the id
   * `<id>@<k>`: every process that runs the same schedule names a tick alike, and the
   * deduplication window keeps one message per tick, so a fleet enqueues each tick once. The
   * processes' clocks must agree within half of `every` (NTP does far better). Calling it again
   * with the same id replaces this handle's schedule: safe to call at every start.
   *
   * @throws TypeError or RangeError for a bad id or option, or after `close()`.
   */
  schedule(id: string, payload: T, options: ScheduleOptions): void {
    this.repeating.set(id, payload, options);
  }

  /** Stops this handle's repeating job `id`; returns whether one was running. */
  unschedule(id: string): boolean {
    return this.repeating.delete(id);
  }

  /**
   * Closes this handle: no new deliveries to it (waiting receives resolve `[]`), waiting sends
   * reject with `ChannelClosedError`, later enqueues too. Leases this handle handed out get
   * `grace` ms to be settled, then are released without counting an attempt. The queue's data
   * stays in Redis. Closes the connections the handle opened, not the one it was given.
   *
   * @returns A promise that resolves when no lease of this handle is left.
   */
  close(options?: CloseOptions): Promise<CloseResult> {
    if (this.closing !== undefined) return this.closing;
    const where = `${NAME}.close`;
    let grace: number;
    try {
      const opts = checkOptions<CloseOptions>(where, options, CLOSE_OPTIONS);
      grace = opts.grace === undefined ? 0 : checkDuration(where, 'grace', opts.grace, true);
    } catch (error) {
      return Promise.reject(error);
    }
    this.closed = true;
    this.repeating.close();
    this.closing = new Promise<CloseResult>((resolve) => {
      this.closeResolve = resolve;
    });
    this.receiver.close();
    for (const refuse of Array.from(this.senders)) refuse(undefined);
    if (this.leases.size === 0) this.finalize(0);
    else if (grace === 0) void this.releaseAll();
    else this.armGrace(this.sched.now() + grace);
    return this.closing;
  }

  /** Waits until the grace ends or every lease of this handle has run out, whichever is first. */
  private armGrace(until: number): void {
    let latest = 0;
    for (const deadline of this.leases.values()) latest = Math.max(latest, deadline - this.offset);
    const at = Math.min(until, latest);
    this.graceTimer = timerAt(this.sched, at, () => {
      this.graceTimer = undefined;
      if (this.finalized) return;
      let later = 0;
      for (const deadline of this.leases.values()) later = Math.max(later, deadline - this.offset);
      if (this.sched.now() < until && later > this.sched.now()) this.armGrace(until);
      else void this.releaseAll();
    });
  }

  private async releaseAll(): Promise<void> {
    const receipts = Array.from(this.leases.keys());
    const told = Array.from(this.releaseWatchers.values());
    this.releaseWatchers.clear();
    for (const onReleased of told) {
      try {
        onReleased();
      } catch (error) {
        reportUnhandledError(error);
      }
    }
    const results = await Promise.all(
      receipts.map((receipt) =>
        this.run(`${NAME}.close`, 'release', [receipt, this.token()]).then(
          (reply) => reply[0] === 'ok',
          () => false,
        ),
      ),
    );
    this.leases.clear();
    this.finalize(results.filter(Boolean).length);
  }

  private finalize(released: number): void {
    if (this.finalized) return;
    this.finalized = true;
    this.graceTimer?.cancel();
    this.closeNotifier.next();
    this.closeNotifier.complete();
    this.closeResolve?.({ released });
  }
}
