import type { Channel, ConsumeMessage } from 'amqplib';
import type { Observable } from 'rxjs';
import { checkInteger, checkOptions, describe } from '../internal/validate.js';
import { AckBatcher } from './ackBatcher.js';
import { type AmqpSerializer, errorText, jsonSerializer } from './codec.js';
import { type AmqpConnection, checkConnection, closeQuietly } from './connection.js';
import { type AmqpDeadLetterTarget, DeadLetterWriter } from './deadLetter.js';
import { demandSource, type PullControl, type PullSink } from './demandSource.js';
import { ChannelLostError } from './errors.js';

/** Options of `amqpReceiver` (and the source half of `consumeAmqp`). */
export interface AmqpReceiverOptions<T> {
  /** The connection to open the receiver's channel on. */
  readonly connection: AmqpConnection;
  /** The queue to consume. */
  readonly queue: string;
  /**
   * Deliveries the broker may push before any is acknowledged (`basic.qos`): the receiver's
   * window. Deliveries beyond what downstream asked for wait in the receiver, so at most this
   * many are held by this consumer, unacknowledged. @default 10
   */
  readonly prefetch?: number;
  /** Payload decoding. @default jsonSerializer() */
  readonly serializer?: AmqpSerializer<T>;
  /**
   * Where a message whose body cannot be decoded goes, with the reason in its
   * `x-sluice-reason` header (and where `consumeAmqp` sends messages out of attempts). Without
   * it such a message is rejected without requeue: the queue's own dead-letter exchange takes
   * it if it has one (reason `rejected`), else the broker drops it.
   * `amqpTopology(...).deadLetter` is such a target.
   */
  readonly deadLetter?: AmqpDeadLetterTarget;
}

/** Options of `nack`. */
export interface AmqpNackOptions {
  /**
   * Put the message back in the queue (true), or reject it to the queue's dead-letter
   * exchange, or drop it when it has none (false). @default true
   */
  readonly requeue?: boolean;
}

/** One delivery from a queue, held unacknowledged until `ack()` or `nack()`. */
export interface AmqpDelivery<T> {
  /** The decoded body. */
  readonly payload: T;
  /** The message's AMQP headers. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** The exchange it was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** The message's `messageId` property, if it has one. */
  readonly messageId: string | undefined;
  /** The broker delivered it before, to this or another consumer. */
  readonly redelivered: boolean;
  /**
   * Earlier deliveries the broker counted (a quorum queue's `x-delivery-count`): 0 on the
   * first. Classic queues do not count; there it is 0, or 1 when `redelivered`.
   */
  readonly deliveryCount: number;
  /** Which attempt this is, from 1: `deliveryCount + 1`. */
  readonly attempt: number;
  /** The message as amqplib delivered it. */
  readonly raw: ConsumeMessage;
  /**
   * Acknowledges it: the broker forgets it. Returns false when the call came too late (already
   * settled, or the channel is gone, in which case the broker redelivers the message). The ack
   * leaves with the others made in the same microtask turn, as one `multiple` ack where every
   * earlier delivery is settled; a channel lost before then redelivers the message.
   */
  ack(): boolean;
  /** Gives it back (`requeue`, the default) or rejects it; false when too late, as for `ack`. */
  nack(options?: AmqpNackOptions): boolean;
}

/**
 * Consumes a RabbitMQ queue as a demand-aware Observable of deliveries, with `prefetch` as its
 * window. Each subscription is one AMQP consumer on its own channel.
 *
 * ```text
 * broker:     a b c d e f ...       prefetch 3, workerPool({ concurrency: 2 })
 * receiver:   a b c (window full: the broker stops)
 * workers:    [a--ack] [b-----ack]
 *                     [c--ack]      each ack lets the broker push one more
 * ```
 *
 * **Backpressure.** The broker pushes at most `prefetch` unacknowledged deliveries; the
 * receiver hands them on only as downstream asks (a `workerPool` asks per free worker) and
 * holds the rest, so no more than `prefetch` are ever held by this consumer. A plain
 * `subscribe` asks for everything: it gets up to `prefetch` at once, and one more per ack.
 *
 * **Errors.** A body the serializer cannot decode never reaches downstream: it is dead-lettered
 * with the reason (see `deadLetter`). When the channel closes under the receiver (connection
 * lost, queue deleted, `rabbitmqctl close_connection`) the Observable errors with
 * `ChannelLostError`; unacknowledged deliveries return to the queue. If the broker cancels the
 * consumer (the queue was deleted) it completes.
 *
 * **Cancellation.** Unsubscribing cancels the consumer at once and gives back the deliveries
 * not yet handed on; the channel closes when every delivery handed on has been acked or nacked
 * (closing it earlier would requeue them under a handler still working). A delivery left
 * unsettled returns to the queue when the connection closes.
 *
 * @example
 * ```typescript amqp
 * import assert from 'node:assert/strict';
 * import amqplib from 'amqplib';
 * import { firstValueFrom } from 'rxjs';
 * import { amqpReceiver } from 'sluice/amqp';
 *
 * const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://127.0.0.1');
 * const setup = await connection.createChannel();
 * const queue = (await setup.assertQueue('', { exclusive: true })).queue;
 * setup.sendToQueue(queue, Buffer.from(JSON.stringify({ sku: 'A-1' })));
 *
 * const delivery = await firstValueFrom(amqpReceiver<{ sku: string }>({ connection, queue }));
 * assert.equal(delivery.payload.sku, 'A-1');
 * assert.equal(delivery.attempt, 1);
 * assert.equal(delivery.ack(), true);
 * await connection.close();
 * ```
 *
 * @param options `connection`, `queue`, `prefetch`, `serializer`, `deadLetter`.
 * @returns A cold Observable of deliveries.
 * @throws TypeError or RangeError for a bad option, naming it.
 */
export function amqpReceiver<T>(options: AmqpReceiverOptions<T>): Observable<AmqpDelivery<T>> {
  const settings = receiverSettings('amqpReceiver', options);
  return demandSource<AmqpDelivery<T>>((sink) => openReceiver(settings, sink));
}

/** Checked receiver options. */
export interface ReceiverSettings<T> {
  readonly connection: AmqpConnection;
  readonly queue: string;
  readonly prefetch: number;
  readonly serializer: AmqpSerializer<T>;
  readonly deadLetter: AmqpDeadLetterTarget | undefined;
}

export function receiverSettings<T>(
  where: string,
  options: AmqpReceiverOptions<T>,
): ReceiverSettings<T> {
  const opts = checkOptions<AmqpReceiverOptions<T>>(where, options);
  const connection = checkConnection(where, opts.connection, 'createChannel');
  if (typeof opts.queue !== 'string' || opts.queue === '') {
    throw new TypeError(`${where}: queue must be a non-empty string, got ${describe(opts.queue)}`);
  }
  const prefetch =
    opts.prefetch === undefined ? 10 : checkInteger(where, 'prefetch', opts.prefetch, 1);
  if (prefetch > 65_535) {
    throw new RangeError(`${where}: prefetch must be at most 65535, got ${prefetch}`);
  }
  const serializer = opts.serializer ?? jsonSerializer<T>();
  if (typeof serializer?.deserialize !== 'function') {
    throw new TypeError(
      `${where}: serializer must have serialize and deserialize, got ${describe(opts.serializer)}`,
    );
  }
  const deadLetter = opts.deadLetter;
  if (
    deadLetter !== undefined &&
    (deadLetter === null ||
      typeof deadLetter.exchange !== 'string' ||
      typeof deadLetter.routingKey !== 'string')
  ) {
    throw new TypeError(
      `${where}: deadLetter must be { exchange, routingKey } (strings), got ${describe(deadLetter)}`,
    );
  }
  return { connection, queue: opts.queue, prefetch, serializer, deadLetter };
}

function countOf(message: ConsumeMessage): number {
  const count = message.properties.headers?.['x-delivery-count'];
  if (typeof count === 'number' && Number.isFinite(count) && count >= 0) return count;
  return message.fields.redelivered ? 1 : 0;
}

/** One AMQP consumer, pulled: see `amqpReceiver`. */
function openReceiver<T>(
  settings: ReceiverSettings<T>,
  sink: PullSink<AmqpDelivery<T>>,
): PullControl {
  const receiver = new OpenReceiver(settings, sink);
  receiver.open();
  return receiver;
}

/**
 * One AMQP consumer: its channel (opened at once), the deliveries the broker pushed beyond
 * what downstream asked for (`held`), and the count of deliveries handed on and not yet
 * settled, which keeps the channel open after a cancel until each is acked or nacked.
 */
class OpenReceiver<T> implements PullControl {
  private channel: Channel | undefined = undefined;
  /** The channel's ack batcher, set and cleared with it. */
  private acks: AckBatcher | undefined = undefined;
  private consumerTag: string | undefined = undefined;
  private demand = 0;
  /** Nothing more goes to the sink. */
  private done = false;
  /** The consumer side is gone. */
  private cancelled = false;
  /** Handed on, not yet settled; plus dead letters being written. */
  private outstanding = 0;
  private readonly held: ConsumeMessage[] = [];
  private head = 0;
  private flushing = false;
  private readonly deadLetters: DeadLetterWriter | undefined;

  constructor(
    private readonly settings: ReceiverSettings<T>,
    private readonly sink: PullSink<AmqpDelivery<T>>,
  ) {
    this.deadLetters =
      settings.deadLetter === undefined
        ? undefined
        : new DeadLetterWriter(settings.connection, settings.deadLetter, settings.queue);
  }

  request(n: number): void {
    if (this.done) return;
    this.demand += n;
    this.flush();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.done = true;
    const ch = this.channel;
    if (ch === undefined) return;
    this.giveBack();
    void this.stopConsuming(ch);
  }

  /** Opens the channel and starts consuming; a failure on the way errors the sink. */
  open(): void {
    this.settings.connection
      .createChannel()
      .then((ch) => this.consume(ch))
      .catch((error: unknown) => {
        const ch = this.channel;
        this.channel = undefined;
        this.acks?.close();
        this.acks = undefined;
        void closeQuietly(ch);
        this.end(() => this.sink.error(new ChannelLostError(this.settings.queue, error)));
      });
  }

  private async consume(ch: Channel): Promise<void> {
    if (this.cancelled) {
      await closeQuietly(ch);
      return;
    }
    this.channel = ch;
    const batcher = new AckBatcher(ch);
    this.acks = batcher;
    let lost: unknown;
    ch.on('error', (error: unknown) => {
      lost = error;
    });
    ch.on('close', () => {
      const wasOurs = this.channel === ch;
      batcher.close();
      if (wasOurs) {
        this.channel = undefined;
        this.acks = undefined;
      }
      this.held.length = 0;
      this.head = 0;
      if (wasOurs) {
        this.end(() => this.sink.error(new ChannelLostError(this.settings.queue, lost)));
      }
    });
    await ch.prefetch(this.settings.prefetch);
    const reply = await ch.consume(
      this.settings.queue,
      (message) => this.arrived(batcher, message),
      { noAck: false },
    );
    this.consumerTag = reply.consumerTag;
    if (this.cancelled) await this.stopConsuming(ch);
  }

  /** The broker pushed a message (or `null`: it cancelled the consumer, the queue is gone). */
  private arrived(batcher: AckBatcher, message: ConsumeMessage | null): void {
    if (message === null) {
      this.end(() => this.sink.complete());
      return;
    }
    if (this.cancelled) {
      try {
        batcher.nack(message, true);
      } catch {
        // channel gone
      }
      return;
    }
    this.held.push(message);
    this.flush();
  }

  /** When every delivery handed on is settled after a cancel, closes the channel. */
  private finish(): void {
    if (this.outstanding > 0 || !this.cancelled) return;
    const ch = this.channel;
    this.channel = undefined;
    this.acks?.flush();
    this.acks?.close();
    this.acks = undefined;
    void closeQuietly(ch);
    void this.deadLetters?.close();
  }

  /** Gives the held deliveries (not handed on) back to the queue. */
  private giveBack(): void {
    const batcher = this.acks;
    const { held } = this;
    for (; this.head < held.length; this.head++) {
      const message = held[this.head];
      if (batcher !== undefined && message !== undefined) {
        try {
          batcher.nack(message, true);
        } catch {
          // channel gone: the broker requeues it anyway
        }
      }
    }
    held.length = 0;
    this.head = 0;
  }

  private end(signal: () => void): void {
    if (this.done) return;
    this.done = true;
    signal();
  }

  /** The settle function of one delivery: only its first ack or nack counts. */
  private settleOnce(batcher: AckBatcher): (how: (batcher: AckBatcher) => void) => boolean {
    let settled = false;
    return (how) => {
      if (settled) return false;
      settled = true;
      this.outstanding--;
      let ok = this.acks === batcher;
      if (ok) {
        try {
          how(batcher);
        } catch {
          ok = false;
        }
      }
      this.finish();
      return ok;
    };
  }

  /** A body the serializer refused: dead-lettered with the reason, or rejected. */
  private badPayload(batcher: AckBatcher, message: ConsumeMessage, error: unknown): void {
    const reason = `the body could not be decoded by the serializer (${errorText(error)})`;
    this.outstanding++;
    const settle = (acked: boolean) => {
      if (this.acks === batcher) {
        try {
          if (acked) batcher.ack(message);
        } catch {
          // channel gone: redelivered, and tried again
        }
      }
      this.outstanding--;
      this.finish();
    };
    if (this.deadLetters === undefined) {
      this.tryNack(batcher, message, false);
      settle(false);
      return;
    }
    this.deadLetters.write(message, reason, countOf(message) + 1).then(
      () => settle(true),
      () => {
        // could not dead-letter it: give it back rather than lose it
        this.tryNack(batcher, message, true);
        settle(false);
      },
    );
  }

  private tryNack(batcher: AckBatcher, message: ConsumeMessage, requeue: boolean): void {
    if (this.acks !== batcher) return;
    try {
      batcher.nack(message, requeue);
    } catch {
      // channel gone: redelivered, and tried again
    }
  }

  /** Hands held deliveries on while there is demand (a loop: `next` may request more). */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const { held } = this;
      while (!this.done && this.demand > 0 && this.head < held.length) {
        const message = held[this.head] as ConsumeMessage;
        held[this.head] = undefined as unknown as ConsumeMessage;
        this.head++;
        if (this.head === held.length) {
          held.length = 0;
          this.head = 0;
        }
        const batcher = this.acks;
        if (batcher === undefined) return;
        let payload: T;
        try {
          payload = this.settings.serializer.deserialize(message.content.toString('utf8'));
        } catch (error) {
          this.badPayload(batcher, message, error);
          continue;
        }
        this.demand--;
        this.outstanding++;
        this.sink.next(delivery(payload, message, this.settleOnce(batcher)));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async stopConsuming(ch: Channel): Promise<void> {
    if (this.consumerTag !== undefined) {
      const tag = this.consumerTag;
      this.consumerTag = undefined;
      try {
        await ch.cancel(tag);
      } catch {
        // channel gone
      }
    }
    this.giveBack();
    this.finish();
  }
}

/** The delivery handed on for one message, settled through `settle`. */
function delivery<T>(
  payload: T,
  message: ConsumeMessage,
  settle: (how: (batcher: AckBatcher) => void) => boolean,
): AmqpDelivery<T> {
  const deliveryCount = countOf(message);
  return {
    payload,
    headers: message.properties.headers ?? {},
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    messageId: message.properties.messageId as string | undefined,
    redelivered: message.fields.redelivered,
    deliveryCount,
    attempt: deliveryCount + 1,
    raw: message,
    ack: () => settle((b) => b.ack(message)),
    nack: (opts?: AmqpNackOptions) => settle((b) => b.nack(message, opts?.requeue ?? true)),
  };
}
