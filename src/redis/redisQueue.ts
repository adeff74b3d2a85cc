import type { Observable, SchedulerLike } from 'rxjs';
import type {
  AckResult,
  BatchHandler,
  CloseOptions,
  CloseResult,
  ConsumeBatchOptions,
  ConsumeOptions,
  ConsumeOutcome,
  Delivery,
  EnqueueOptions,
  EnqueueResult,
  ExtendResult,
  MessageHandler,
  NackOptions,
  NackResult,
  QueueDeadLetter,
  QueueSendOptions,
  QueueStats,
  QueueStore,
  ReceiveOptions,
  RedriveResult,
  ReleaseResult,
  ScheduleOptions,
} from 'sluice';
import { checkDuration, checkInteger, checkOptions, checkSignal } from '../internal/validate.js';
import { RECEIVE_OPTIONS } from '../queue/optionNames.js';
import { closeGrace, consumeStore, consumeStoreBatch } from '../queue/queueFamily.js';
import { RepeatingJobs } from '../queue/repeatingJobs.js';
import { coreConsumers } from './coreConsumers.js';
import { AckReadAhead, pullDeliveries } from './deliverySource.js';
import { makePullable } from './demand.js';
import { HandleLeases } from './handleLeases.js';
import type { RedisQueueKeys } from './keys.js';
import { LeaseCalls } from './leaseCalls.js';
import { RECEIVE_CAP } from './limits.js';
import { NoncePool } from './nonces.js';
import { ReceiveLoop } from './receiveLoop.js';
import { decodeDeliveries, receivePass } from './receivePass.js';
import { RedisDeadLetters } from './redisDeadLetters.js';
import { RedisEnqueuer } from './redisEnqueuer.js';
import {
  NAME,
  type RedisQueueConfig,
  redisQueueConfig,
  scriptSettings,
  sharedSettings,
} from './redisQueueConfig.js';
import type { RedisQueueOptions } from './redisQueueOptions.js';
import { ScriptRunner } from './scriptRunner.js';

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
 * or another receipt. An entry that ends otherwise than by an ack is deleted at once; an
 * acknowledged one stays, acknowledged and counted, until the acks trim whole stream nodes of
 * them (`XTRIM MINID` below the oldest pending entry), so the stream holds live messages and a
 * bounded number of acknowledged ones; nothing ever trims a pending or visible entry.
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

  private readonly config: RedisQueueConfig<T>;
  private readonly runner: ScriptRunner;
  private readonly enqueuer: RedisEnqueuer<T>;
  private readonly dead: RedisDeadLetters<T>;
  private readonly calls: LeaseCalls<T>;
  /** Which consumer a receipt's ack frees a worker of: its next delivery comes with the ack. */
  private readonly readAhead: AckReadAhead<T>;
  /** Random parts of receipts. */
  private readonly nonces = new NoncePool();
  /** Every waiting receive of this handle, served by one loop of receive scripts. */
  private readonly receiver: ReceiveLoop<T>;
  private readonly repeating: RepeatingJobs<T>;
  /** Leases this handle handed out and has not seen end, and the close that waits for them. */
  private readonly leases: HandleLeases;
  /** Store clock minus scheduler clock, from the latest script reply. */
  private offset = 0;
  private closed = false;

  /**
   * @param options `connection` and `name` (required); `prefix`, `visibilityTimeout`,
   *   `maxAttempts`, `capacity`, `overflow`, `onOverflow`, `dedupWindow`, `deadLetter`,
   *   `serializer`, `consumer`, `clock`, `scheduler`, `blockTime`.
   * @throws TypeError or RangeError for a bad option, naming it. Nothing is sent to Redis
   *   until the first call.
   */
  constructor(options: RedisQueueOptions<T>) {
    const config = redisQueueConfig(options);
    this.config = config;
    this.keys = config.keys;
    this.consumer = config.consumer;
    const sched = config.scheduler;
    this.runner = new ScriptRunner({
      name: NAME,
      connection: config.connection,
      keys: config.keys,
      clock: config.clock,
      scheduler: sched,
      settings: scriptSettings(config),
      shared: sharedSettings(config),
      evicted: (evicted) => this.dead.evicted(evicted),
    });
    this.enqueuer = new RedisEnqueuer<T>({
      config,
      runner: this.runner,
      isClosed: () => this.closed,
    });
    this.leases = new HandleLeases({
      scheduler: sched,
      offset: () => this.offset,
      release: (receipt) =>
        this.calls.releaseScript(`${NAME}.close`, receipt).then((reply) => reply === 'ok'),
    });
    const storeTime = (now: number) => {
      // With the Redis clock, local time runs `offset` behind it (give or take the round trip).
      if (config.clock === 'redis') this.offset = now - sched.now();
    };
    this.readAhead = new AckReadAhead<T>(() => sched.now() + this.offset);
    this.calls = new LeaseCalls<T>(this.runner, this.leases, {
      consumer: config.consumer,
      nonces: this.nonces,
      // a closed handle hands out nothing new (its receives answer [])
      plan: (receipts) => this.readAhead.plan(receipts, this.closed ? 0 : RECEIVE_CAP),
      leased: async (now, raws) => {
        storeTime(now);
        const got = await decodeDeliveries<T>(
          { config, runner: this.runner },
          `${NAME}.receive`,
          raws,
        );
        for (const delivery of got) this.leases.leased(delivery.receipt, delivery.deadline);
        return got;
      },
      forget: (receipt) => this.readAhead.forget(receipt),
    });
    this.dead = new RedisDeadLetters<T>({
      config,
      runner: this.runner,
      finalized: () => this.leases.finalized,
      finished: this.leases.finished,
    });
    this.deadLettered = this.dead.live;
    this.receiver = new ReceiveLoop<T>({
      scheduler: sched,
      blockTime: config.blockTime,
      streamKey: config.keys.stream,
      pass: (max) =>
        receivePass(
          {
            config,
            runner: this.runner,
            nonces: this.nonces,
            storeTime,
          },
          max,
        ),
      leased: (delivery) => this.leases.leased(delivery.receipt, delivery.deadline),
      giveBack: (delivery) => this.calls.giveBack(delivery.receipt),
      offset: () => this.offset,
      duplicate: () => config.connection.duplicate(),
    });
    // `consume` pulls deliveries in batches sized by its free workers (demand protocol).
    const source = {
      receive: (options: ReceiveOptions) => this.receive(options),
      release: (receipt: string) => this.release(receipt),
      isClosed: false,
      readAhead: this.readAhead,
    };
    Object.defineProperty(source, 'isClosed', { get: () => this.closed });
    makePullable(this, (sink) => pullDeliveries(source, sink));
    // Processes number ticks alike on the wall clock (the lease clock stays Redis's).
    this.repeating = new RepeatingJobs<T>({
      name: NAME,
      scheduler: sched,
      now: config.clock === 'scheduler' ? () => sched.now() : () => Date.now(),
      dedupWindow: config.dedupWindow,
      enqueue: (payload, options) => this.enqueue(payload, options),
    });
  }

  /** Milliseconds a delivery is leased for. */
  get visibilityTimeout(): number {
    return this.config.visibilityTimeout;
  }
  /** Deliveries a message gets before it becomes a dead letter. */
  get maxAttempts(): number {
    return this.config.maxAttempts;
  }
  /** The most live messages the queue holds in Redis. */
  get capacity(): number {
    return this.config.capacity;
  }
  /** The timers of this handle. */
  get scheduler(): SchedulerLike {
    return this.config.scheduler;
  }
  /** True once `close()` was called on this handle. */
  get isClosed(): boolean {
    return this.closed;
  }

  // ---- enqueue ------------------------------------------------------------------------

  /**
   * Adds a message, now or after `delay` ms (SQS `SendMessage`). The enqueues made in one turn
   * of the event loop go to Redis together, up to 32 per script call, in call order (a loop
   * of `enqueue` calls is the bulk form).
   *
   * @param payload Serialized at the call (a later change to the object is not seen).
   * @param options `id` (deduplicated; generated as `#<n>` when absent: a caller's id may not
   *   start with `#` unless it is a generated id given back, refused as a duplicate while its
   *   message is live), `delay` (ms), `group` (one message of a group at a time, in order,
   *   across every process) and `priority` (higher first); see `EnqueueOptions`.
   * @returns `{ ok: true, id }`, or `{ ok: false, reason: 'duplicate' | 'dropped', id }`.
   *   Rejects with `TypeError` for a payload the serializer cannot store (nothing is sent),
   *   `TypeError` or `RangeError` for a bad `group` or `priority`,
   *   `ChannelClosedError` after `close()`, `ChannelFullError` when full under `'block'` or
   *   `'error'` (use `send` to wait), both carrying the payload.
   */
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    return this.enqueuer.enqueue(payload, options);
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
    return this.enqueuer.send(payload, options);
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

  // ---- leases -------------------------------------------------------------------------

  /**
   * Acknowledges a delivery: the entry is acknowledged (and trimmed later, with its stream
   * node) and the message's record deleted (one with a caller's id keeps it, without its
   * payload, for its deduplication window), after the script checked the receipt (owner,
   * delivery count, deadline). Refused, changing nothing, when the receipt is stale, expired, released,
   * already acknowledged or unknown. The acks made in one turn of the event loop go to Redis
   * as one script call (up to 256; two, back to back, from 16 while no other consumer holds
   * leases), and an ack of a delivery `consume` handed out also leases, in the same call, the
   * next delivery of the worker it frees; each receipt is still checked alone and gets its
   * own answer.
   */
  ack(receipt: string): Promise<AckResult> {
    return this.calls.ack(receipt);
  }

  /**
   * Ends a delivery unsuccessfully: visible again at once (at the back of the stream), or
   * after `delay` ms, or a dead letter on its last attempt (`deadLettered: true`). `error` is
   * stored as the message's last error.
   */
  nack(receipt: string, options?: NackOptions): Promise<NackResult> {
    return this.calls.nack(receipt, options);
  }

  /** Moves a live lease's deadline to `ms` from now; `0` ends it as an expiry. */
  extend(receipt: string, ms: number): Promise<ExtendResult> {
    return this.calls.extend(receipt, ms);
  }

  /** Gives a lease back without counting the attempt: the message joins the back of the stream. */
  release(receipt: string): Promise<ReleaseResult> {
    return this.calls.release(receipt);
  }

  /**
   * Calls `onReleased` if `close()` releases the lease of `receipt` before it was settled, just
   * before the release reaches Redis (so the handler stops before another process can receive
   * the message). Returns a function that stops watching; settling the lease stops it too.
   */
  watchRelease(receipt: string, onReleased: () => void): () => void {
    return this.leases.watch(receipt, onReleased);
  }

  // ---- dead letters -------------------------------------------------------------------

  /** The dead letters kept, oldest first (due expiries are processed first). */
  deadLetters(): Promise<QueueDeadLetter<T>[]> {
    return this.dead.list();
  }

  /**
   * Moves dead letters (all, or those with the given ids) back to the back of the stream with
   * their attempts reset; see `RedriveResult` for what stays.
   */
  redrive(ids?: Iterable<string>): Promise<RedriveResult> {
    return this.dead.redrive(ids);
  }

  /** Deletes dead letters (all, or those with the given ids) and returns them. */
  purgeDeadLetters(ids?: Iterable<string>): Promise<QueueDeadLetter<T>[]> {
    return this.dead.purge(ids);
  }

  // ---- stats and close ----------------------------------------------------------------

  /** Where the messages are now (due expiries and delays processed first) and the queue's counters. */
  async stats(): Promise<QueueStats> {
    return this.runner.run(`${NAME}.stats`, 'stats', []);
  }

  /**
   * A worker pool over this queue: `consumeQueue(this, handler, options)`, with this handle's
   * scheduler by default. Run it in as many processes as you like: they share the work.
   * Deliveries are pulled, not polled: the workers freed in one turn become one `receive` of
   * that many, sent while acks are still on their way (`pollWait` is not used).
   */
  consume(handler: MessageHandler<T>, options?: ConsumeOptions<T>): Observable<ConsumeOutcome<T>> {
    return consumeStore(coreConsumers, NAME, this, handler, options);
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
    return consumeStoreBatch(coreConsumers, NAME, this, handler, options);
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
    const pending = this.leases.pending;
    if (pending !== undefined) return pending;
    let grace: number;
    try {
      grace = closeGrace(`${NAME}.close`, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.closed = true;
    this.repeating.close();
    const closing = this.leases.begin();
    this.receiver.close();
    this.enqueuer.refuseWaiting();
    this.leases.settle(grace);
    return closing;
  }
}
