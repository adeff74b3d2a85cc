import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message } from 'amqplib';
import type { Observer } from 'rxjs';
import { ChannelClosedError, ChannelFullError } from 'sluice';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { checkOptions, checkSignal } from '../internal/validate.js';
import { type AmqpSerializer, encodeBody } from './codec.js';
import { type AmqpConnection, closeQuietly } from './connection.js';
import { PublishFailedError, UnroutableError } from './errors.js';
import {
  type AmqpPublisherOptions,
  type AmqpSendOptions,
  abortable,
  publisherSettings,
} from './publisherSettings.js';

export type { AmqpPublisherOptions, AmqpSendOptions } from './publisherSettings.js';

interface Pending<T> {
  readonly value: T;
  readonly exchange: string;
  readonly routingKey: string;
  returned: string | undefined;
}

interface Waiter {
  readonly grant: () => void;
  /** Withdrawn by its signal: skipped when a place frees. */
  gone: boolean;
}

/**
 * Publishes to a RabbitMQ exchange with publisher confirms: `await send(payload)` resolves once
 * the broker has taken responsibility for the message, never earlier. It is an `Observer<T>`,
 * so `source$.subscribe(publisher)` publishes a stream.
 *
 * ```text
 * send(a) send(b) send(c)        maxUnconfirmed 2
 * publish a, b ... c waits ... confirm(a) → publish c
 * ```
 *
 * **Backpressure.** At most `maxUnconfirmed` messages are published and unconfirmed; a further
 * `send()` waits for a confirmation, first come first served. When the socket's write buffer is
 * full (amqplib's `publish` returns false) publishing pauses until it drains. `next()` cannot
 * wait: with no room it refuses the payload with `ChannelFullError` (thrown, carrying it).
 *
 * **Errors.** A send rejects with an error carrying its payload (`err.value`): `UnroutableError`
 * when the broker returned a `mandatory` message no queue receives; `PublishFailedError` when
 * the broker nacked it or the channel or connection closed before it confirmed (`reason`
 * `'nacked'` or `'closed'`); `TypeError` when the serializer refused the payload (nothing was
 * published); `ChannelClosedError` after `close()`. A lost channel is reopened on the next send
 * if the connection still stands.
 *
 * **Cancellation.** Aborting a send's `signal` while it waits for room, the channel or the
 * write buffer withdraws it: it rejects with the signal's reason, publishes nothing and frees
 * its place. A message already published cannot be withdrawn. `close()` stops new sends, waits
 * for the unconfirmed ones to settle, then closes the channel.
 *
 * @example
 * ```typescript amqp
 * import assert from 'node:assert/strict';
 * import amqplib from 'amqplib';
 * import { AmqpPublisher, UnroutableError } from 'sluice/amqp';
 *
 * const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://127.0.0.1');
 * const setup = await connection.createChannel();
 * const queue = (await setup.assertQueue('', { exclusive: true })).queue;
 *
 * const publisher = new AmqpPublisher<{ order: number }>({
 *   connection,
 *   exchange: '', // the default exchange routes by queue name
 *   routingKey: queue,
 *   maxUnconfirmed: 50,
 * });
 * await publisher.send({ order: 1 }); // resolved: the broker has it
 * await assert.rejects(
 *   publisher.send({ order: 2 }, { routingKey: 'no-such-queue' }),
 *   (err) => err instanceof UnroutableError && err.value.order === 2,
 * );
 * await publisher.close();
 * assert.equal((await setup.checkQueue(queue)).messageCount, 1);
 * await connection.close();
 * ```
 */
export class AmqpPublisher<T> implements Observer<T> {
  readonly #connection: AmqpConnection;
  readonly #exchange: string;
  readonly #routingKey: (message: T) => string;
  readonly #maxUnconfirmed: number;
  readonly #mandatory: boolean;
  readonly #persistent: boolean;
  readonly #serializer: AmqpSerializer<T>;
  readonly #onFailure: ((error: unknown) => void) | undefined;
  #channel: Promise<ConfirmChannel> | undefined;
  /** The channel `#channel` resolved to, while it is open. */
  #ready: ConfirmChannel | undefined;
  #inFlight = 0;
  /** Sends waiting for a place, first come first served: a queue read from `#head`. */
  #waiters: Waiter[] = [];
  #head = 0;
  #waiting = 0;
  #drained: Promise<void> | undefined;
  readonly #pending = new Map<string, Pending<T>[]>();
  #closing: Promise<void> | undefined;
  /**
   * Generated message ids: a random prefix per publisher and a base-36 count. Short on purpose:
   * the broker keeps the property with every message, and a 37-character UUID prefix cost a
   * quarter of the publish rate.
   */
  readonly #idPrefix = `${randomUUID().slice(0, 8)}.`;
  #sequence = 0;
  #settled: (() => void) | undefined;

  /**
   * @param options `connection`, `exchange`, `routingKey`, `maxUnconfirmed`, `mandatory`,
   * `persistent`, `serializer`, `onFailure`.
   * @throws TypeError or RangeError for a bad option, naming it.
   */
  constructor(options: AmqpPublisherOptions<T>) {
    const settings = publisherSettings('AmqpPublisher', options);
    this.#connection = settings.connection;
    this.#exchange = settings.exchange;
    this.#routingKey = settings.routingKey;
    this.#maxUnconfirmed = settings.maxUnconfirmed;
    this.#mandatory = settings.mandatory;
    this.#persistent = settings.persistent;
    this.#serializer = settings.serializer;
    this.#onFailure = settings.onFailure;
  }

  /** Messages published and not yet confirmed or failed. */
  get unconfirmed(): number {
    return this.#inFlight;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Publishes `payload` and resolves when the broker confirms it; waits first while
   * `maxUnconfirmed` messages are unconfirmed or the write buffer is full.
   * @param payload The user's data, encoded by the serializer into the message's body.
   * @param options `signal`, `routingKey`, `headers`, `messageId`.
   * @returns A promise that resolves on the broker's confirmation, or rejects with an error
   * carrying the payload as `value` (see the class's Errors).
   */
  send(payload: T, options?: AmqpSendOptions): Promise<void> {
    try {
      const where = 'AmqpPublisher.send';
      const opts = checkOptions<AmqpSendOptions>(where, options);
      const signal = checkSignal(where, opts.signal);
      if (this.#closing !== undefined) {
        throw new ChannelClosedError('AmqpPublisher.send: the publisher is closed', payload);
      }
      const routingKey = opts.routingKey ?? this.#routingKey(payload);
      const body = encodeBody(where, this.#serializer, payload);
      signal?.throwIfAborted();
      // A free place on an open channel publishes now. A send that waits for a place is
      // published from inside the confirmation that frees it, as a hand-written confirm loop
      // does, not a turn of promises later: the window refills as fast as the broker confirms.
      if (this.#inFlight < this.#maxUnconfirmed && this.#waiting === 0) {
        this.#inFlight++;
        return this.#publishHeld(payload, routingKey, body, opts, signal);
      }
      return new Promise<void>((resolve, reject) => {
        this.#enqueueWaiter(signal, reject, () =>
          this.#publishHeld(payload, routingKey, body, opts, signal).then(resolve, reject),
        );
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Publishes with a place held: at once on an open channel with room, else once it has both. */
  #publishHeld(
    message: T,
    routingKey: string,
    body: Buffer,
    opts: Partial<AmqpSendOptions>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const channel = this.#ready;
    if (channel !== undefined && this.#drained === undefined) {
      return this.#publish(channel, message, routingKey, body, opts);
    }
    return this.#openThenPublish(message, routingKey, body, opts, signal);
  }

  async #openThenPublish(
    message: T,
    routingKey: string,
    body: Buffer,
    opts: Partial<AmqpSendOptions>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let channel: ConfirmChannel;
    try {
      channel = await this.#open(message, signal);
      while (this.#drained !== undefined) await abortable(this.#drained, signal);
    } catch (error) {
      this.#release();
      throw error;
    }
    return this.#publish(channel, message, routingKey, body, opts);
  }

  /** Publishes on `channel` (a place is held) and settles on the broker's confirmation. */
  #publish(
    channel: ConfirmChannel,
    message: T,
    routingKey: string,
    body: Buffer,
    opts: Partial<AmqpSendOptions>,
  ): Promise<void> {
    const messageId = opts.messageId ?? this.#idPrefix + (++this.#sequence).toString(36);
    const pending: Pending<T> = {
      value: message,
      exchange: this.#exchange,
      routingKey,
      returned: undefined,
    };
    return new Promise<void>((resolve, reject) => {
      const list = this.#pending.get(messageId);
      if (list === undefined) this.#pending.set(messageId, [pending]);
      else list.push(pending);
      const settle = (err: unknown, closed: boolean) => {
        const same = this.#pending.get(messageId);
        if (same !== undefined) {
          const at = same.indexOf(pending);
          if (at >= 0) same.splice(at, 1);
          if (same.length === 0) this.#pending.delete(messageId);
        }
        this.#release(err === null || err === undefined);
        if (err !== null && err !== undefined) {
          reject(new PublishFailedError(message, closed ? 'closed' : 'nacked', err));
        } else if (pending.returned !== undefined) {
          reject(new UnroutableError(message, pending.exchange, routingKey, pending.returned));
        } else resolve();
      };
      // amqplib's confirmation: an error that says the channel closed, or the broker's nack
      const done = (err: unknown) =>
        settle(err, err instanceof Error && err.message === 'channel closed');
      let ok: boolean;
      try {
        ok = channel.publish(
          this.#exchange,
          routingKey,
          body,
          {
            mandatory: this.#mandatory,
            persistent: this.#persistent,
            messageId,
            contentType: 'application/json',
            headers: opts.headers === undefined ? undefined : { ...opts.headers },
          },
          done,
        );
      } catch (error) {
        // amqplib throws synchronously on a closed channel; its callback is then never called
        settle(error, true);
        return;
      }
      if (!ok && this.#drained === undefined) {
        this.#drained = new Promise<void>((wake) => {
          const onDrain = () => {
            channel.off('drain', onDrain);
            channel.off('close', onDrain);
            this.#drained = undefined;
            wake();
          };
          channel.on('drain', onDrain);
          channel.on('close', onDrain);
        });
      }
    });
  }

  /**
   * The Observer path: publishes without waiting. With `maxUnconfirmed` messages unconfirmed
   * it throws `ChannelFullError` carrying the message; a later failure (unroutable, nacked,
   * channel lost) goes to `onFailure`.
   */
  next(value: T): void {
    if (this.#closing !== undefined) {
      throw new ChannelClosedError('AmqpPublisher.next: the publisher is closed', value);
    }
    if (this.#inFlight + this.#waiting >= this.#maxUnconfirmed) {
      throw new ChannelFullError(
        `AmqpPublisher.next: ${this.#maxUnconfirmed} messages are unconfirmed and next() cannot wait; use send()`,
        value,
      );
    }
    this.send(value).then(undefined, (error: unknown) => this.#report(error));
  }

  /** Closes the publisher (the error of a source does not reach the broker). */
  error(_err: unknown): void {
    void this.close();
  }

  /** Same as `close()`. */
  complete(): void {
    void this.close();
  }

  /**
   * Stops new sends (they reject with `ChannelClosedError`), waits until every unconfirmed
   * message has settled, then closes the channel. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await new Promise<void>((resolve) => {
        if (this.#inFlight === 0 && this.#waiting === 0) resolve();
        else this.#settled = resolve;
      });
      const channel = this.#channel;
      this.#channel = undefined;
      this.#ready = undefined;
      await closeQuietly(await channel?.catch(() => undefined));
    })();
    return this.#closing;
  }

  #report(error: unknown): void {
    if (this.#onFailure !== undefined) {
      this.#onFailure(error);
      return;
    }
    reportUnhandledError(error);
  }

  /** Queues a send for the next free place; `grant` runs inside the `#release` that frees it. */
  #enqueueWaiter(
    signal: AbortSignal | undefined,
    reject: (reason: unknown) => void,
    grant: () => void,
  ): void {
    const onAbort = () => {
      waiter.gone = true;
      this.#waiting--;
      reject(signal?.reason);
      this.#checkSettled();
    };
    const waiter: Waiter = {
      grant: () => {
        signal?.removeEventListener('abort', onAbort);
        grant();
      },
      gone: false,
    };
    this.#waiters.push(waiter);
    this.#waiting++;
    signal?.addEventListener('abort', onAbort, { once: true });
  }

  /** Frees one place: handed straight to the first waiting send, if any. */
  #release(confirmed = false): void {
    while (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head] as Waiter;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head);
        this.#head = 0;
      }
      if (next.gone) continue;
      this.#waiting--;
      // After a confirmation the channel is healthy: publish the next send now. After a failure
      // the channel may be closing, and amqplib neither publishes nor calls back on it: the
      // next send looks again once the close has been handled.
      if (confirmed) next.grant();
      else queueMicrotask(next.grant);
      return;
    }
    this.#waiters.length = 0;
    this.#head = 0;
    this.#inFlight--;
    this.#checkSettled();
  }

  #checkSettled(): void {
    if (this.#inFlight === 0 && this.#waiting === 0 && this.#settled !== undefined) {
      const settled = this.#settled;
      this.#settled = undefined;
      settled();
    }
  }

  /** The confirm channel, opened on first use and reopened after it was lost. */
  async #open(message: T, signal: AbortSignal | undefined): Promise<ConfirmChannel> {
    if (this.#channel === undefined) {
      const opening = this.#connection.createConfirmChannel().then((channel) => {
        channel.on('error', () => {
          // the close event follows; unconfirmed sends are rejected by amqplib's callbacks
        });
        channel.on('close', () => {
          if (this.#ready === channel) this.#ready = undefined;
          if (this.#channel === opening) this.#channel = undefined;
        });
        channel.on('return', (returned: Message) => this.#onReturn(returned));
        if (this.#channel === opening) this.#ready = channel;
        return channel;
      });
      this.#channel = opening;
      opening.catch(() => {
        if (this.#channel === opening) this.#channel = undefined;
      });
    }
    try {
      return await abortable(this.#channel, signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw new PublishFailedError(message, 'closed', error);
    }
  }

  #onReturn(returned: Message): void {
    const id = returned.properties.messageId as string | undefined;
    if (id === undefined) return;
    const list = this.#pending.get(id);
    const pending = list?.find((p) => p.returned === undefined);
    if (pending !== undefined)
      pending.returned = String(
        (returned.fields as { replyText?: string }).replyText ?? 'NO_ROUTE',
      );
  }
}
