/**
 * The enqueue path of `RedisQueue` (internal to `sluice/redis`): checks, serialization, the
 * per-turn batch of enqueue script calls, and `send`'s wait for room under `'block'`.
 * @module
 */
import {
  ChannelClosedError,
  ChannelFullError,
  type EnqueueOptions,
  type EnqueueResult,
  MessageTooLargeError,
  type QueueSendOptions,
} from 'sluice';
import { scheduleAt as timerAt } from '../internal/deadlineTimer.js';
import { checkHeaders } from '../internal/headers.js';
import { utf8Bytes } from '../internal/sizes.js';
import {
  checkDuration,
  checkGroup,
  checkOptions,
  checkPriority,
  checkSignal,
  describe,
} from '../internal/validate.js';
import { ENQUEUE_OPTIONS, ORDER_OPTIONS, SEND_OPTIONS } from '../queue/optionNames.js';
import { checkMessageId } from '../queue/queueFamily.js';
import { CallBatch } from './batch.js';
import { serializeOrThrow } from './codec.js';
import { wrapHeaders } from './headers.js';
import { limit, NAME, type RedisQueueConfig } from './redisQueueConfig.js';
import type { EnqueueOutcome } from './replies.js';
import type { ScriptRunner } from './scriptRunner.js';

/**
 * The most enqueues sent in one script call. Many enqueues of one turn go out as several
 * calls, each sent as soon as it is full: Redis stores the first while this process prepares
 * the next or handles the answer to another, instead of each waiting for the other.
 */
const BATCH = 32;
/** A message's group ('' for none) and priority, as the enqueue script takes them. */
type Order = [string, number];
const ENQUEUE_ORDER_OPTIONS = [...ENQUEUE_OPTIONS, ...ORDER_OPTIONS];
const SEND_ORDER_OPTIONS = [...SEND_OPTIONS, ...ORDER_OPTIONS];

/** What the enqueue path needs from its queue handle. */
export interface EnqueuerHost<T> {
  readonly config: RedisQueueConfig<T>;
  readonly runner: ScriptRunner;
  /** True once `close()` was called on the handle. */
  isClosed(): boolean;
}

/** `RedisQueue.enqueue` and `RedisQueue.send`. */
export class RedisEnqueuer<T> {
  private readonly config: RedisQueueConfig<T>;
  private readonly runner: ScriptRunner;
  /** Enqueues of one turn of the event loop, sent together (`BATCH` per script call). */
  private readonly enqueues: CallBatch<Array<string | number>, EnqueueOutcome>;
  /** Sends waiting for room: each refuses its send when called (by `close()`). */
  private readonly senders = new Set<(error: unknown) => void>();

  constructor(private readonly host: EnqueuerHost<T>) {
    this.config = host.config;
    this.runner = host.runner;
    this.enqueues = new CallBatch<Array<string | number>, EnqueueOutcome>(
      (args) =>
        this.runner.run(`${NAME}.enqueue`, 'enqueue', [
          limit(this.config.capacity),
          this.config.overflow === 'drop' ? 'drop' : 'keep',
          ...args.flat(),
        ]),
      BATCH,
    );
  }

  /** Refuses every waiting send with `ChannelClosedError`. */
  refuseWaiting(): void {
    for (const refuse of Array.from(this.senders)) refuse(undefined);
  }

  /** `RedisQueue.enqueue`: a full queue rejects with `ChannelFullError` whatever the policy but `'drop'`. */
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    const where = `${NAME}.enqueue`;
    try {
      const { id, delay, text, order } = this.prepare(
        where,
        payload,
        checkOptions<EnqueueOptions>(where, options, ENQUEUE_ORDER_OPTIONS),
      );
      return this.add(where, payload, text, id, delay, order).then((result) => {
        if (result === 'full') {
          throw this.fullError(
            payload,
            this.config.overflow === 'block' ? '; enqueue() cannot wait, use await send()' : '',
          );
        }
        return result;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `RedisQueue.send`: under `'block'`, tries again with a back-off until there is room. */
  send(payload: T, options?: QueueSendOptions): Promise<EnqueueResult> {
    const where = `${NAME}.send`;
    try {
      const opts = checkOptions<QueueSendOptions>(where, options, SEND_ORDER_OPTIONS);
      const signal = checkSignal(where, opts.signal);
      const { id, delay, text, order } = this.prepare(where, payload, opts);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return this.sendLoop(where, payload, text, id, delay, signal, order);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private prepare(
    where: string,
    payload: T,
    opts: EnqueueOptions,
  ): { id: string | undefined; delay: number; text: string; order: Order } {
    const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
    const order: Order = [checkGroup(where, opts.group) ?? '', checkPriority(where, opts.priority)];
    const id = checkMessageId(where, opts.id, this.config.maxIdLength, MessageTooLargeError);
    const headers = checkHeaders(where, opts.headers);
    if (this.host.isClosed()) throw new ChannelClosedError(`${NAME}: queue is closed`, payload);
    const text = serializeOrThrow(where, this.config.serializer, payload);
    const max = this.config.maxPayloadBytes;
    const bytes = utf8Bytes(text, max);
    if (bytes > max) throw new MessageTooLargeError(where, 'maxPayloadBytes', bytes, max);
    return { id, delay: Math.ceil(delay), text: wrapHeaders(text, headers), order };
  }

  private async add(
    where: string,
    payload: T,
    text: string,
    id: string | undefined,
    delay: number,
    order: Order,
  ): Promise<EnqueueResult | 'full'> {
    let reply: EnqueueOutcome;
    try {
      reply = await this.enqueues.add([text, id ?? '', delay, this.runner.token(), ...order]);
    } catch (error) {
      throw this.runner.rename(error, where);
    }
    switch (reply[0]) {
      case 'ok':
        return { ok: true, id: reply[1] };
      case 'duplicate':
        return { ok: false, reason: 'duplicate', id: reply[1] };
      case 'dropped':
        this.config.onOverflow?.(payload, 'drop');
        return { ok: false, reason: 'dropped', id };
      case 'reserved':
        throw new TypeError(
          `${where}: id must not start with '#' unless it is a generated id given back ` +
            `(generated ids are '#<n>'), got ${describe(id)}`,
        );
      case 'full':
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
    order: Order,
  ): Promise<EnqueueResult> {
    let pause = 25;
    for (;;) {
      if (this.host.isClosed()) throw new ChannelClosedError(`${NAME}: queue is closed`, payload);
      const result = await this.add(where, payload, text, id, delay, order);
      if (result !== 'full') return result;
      if (this.config.overflow !== 'block') throw this.fullError(payload, '');
      await this.pause(pause, payload, signal);
      pause = Math.min(pause * 2, 1_000);
    }
  }

  /** Waits `ms` on the scheduler; rejects on abort or close. */
  private pause(ms: number, payload: T, signal: AbortSignal | undefined): Promise<void> {
    const scheduler = this.config.scheduler;
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
      const timer = timerAt(scheduler, scheduler.now() + ms, () => {
        done();
        resolve();
      });
      this.senders.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private fullError(payload: T, detail: string): ChannelFullError<T> {
    const capacity = this.config.capacity;
    return new ChannelFullError(`${NAME}: queue is full (capacity ${capacity})${detail}`, payload);
  }
}
