import type { Channel, ConsumeMessage } from 'amqplib';
import type { Observable } from 'rxjs';
import { checkInteger, checkOptions, describe } from '../internal/validate.js';
import { AckBatcher } from './ackBatcher.js';
import { type AmqpSerializer, errorText, jsonSerializer } from './codec.js';
import { type AmqpConnection, closeQuietly } from './connection.js';
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
  const connection = opts.connection;
  if (
    connection === null ||
    typeof connection !== 'object' ||
    typeof connection.createChannel !== 'function'
  ) {
    throw new TypeError(
      `${where}: connection must be an amqplib connection, got ${describe(connection)}`,
    );
  }
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
  const { connection, queue, prefetch, serializer } = settings;
  let channel: Channel | undefined;
  let acks: AckBatcher | undefined; // the channel's, set and cleared with it
  let consumerTag: string | undefined;
  let demand = 0;
  let done = false; // no more to the sink
  let cancelled = false; // the consumer side is gone
  let outstanding = 0; // handed on, not yet settled; plus dead letters being written
  const held: ConsumeMessage[] = [];
  let head = 0;
  let flushing = false;
  const deadLetters =
    settings.deadLetter === undefined
      ? undefined
      : new DeadLetterWriter(connection, settings.deadLetter, queue);

  const finish = () => {
    if (outstanding > 0 || !cancelled) return;
    const ch = channel;
    channel = undefined;
    acks?.flush();
    acks?.close();
    acks = undefined;
    void closeQuietly(ch);
    void deadLetters?.close();
  };
  const giveBack = () => {
    const batcher = acks;
    for (; head < held.length; head++) {
      const message = held[head];
      if (batcher !== undefined && message !== undefined) {
        try {
          batcher.nack(message, true);
        } catch {
          // channel gone: the broker requeues it anyway
        }
      }
    }
    held.length = 0;
    head = 0;
  };
  const end = (signal: () => void) => {
    if (done) return;
    done = true;
    signal();
  };
  const settleOnce = (batcher: AckBatcher) => {
    let settled = false;
    return (how: (batcher: AckBatcher) => void): boolean => {
      if (settled) return false;
      settled = true;
      outstanding--;
      let ok = acks === batcher;
      if (ok) {
        try {
          how(batcher);
        } catch {
          ok = false;
        }
      }
      finish();
      return ok;
    };
  };
  const badPayload = (batcher: AckBatcher, message: ConsumeMessage, error: unknown) => {
    const reason = `the body could not be decoded by the serializer (${errorText(error)})`;
    outstanding++;
    const reject = () => {
      if (acks === batcher) {
        try {
          batcher.nack(message, false);
        } catch {
          // channel gone: redelivered, and tried again
        }
      }
    };
    const settle = (acked: boolean) => {
      if (acks === batcher) {
        try {
          if (acked) batcher.ack(message);
        } catch {
          // as above
        }
      }
      outstanding--;
      finish();
    };
    if (deadLetters === undefined) {
      reject();
      settle(false);
      return;
    }
    deadLetters.write(message, reason, countOf(message) + 1).then(
      () => settle(true),
      () => {
        // could not dead-letter it: give it back rather than lose it
        if (acks === batcher) {
          try {
            batcher.nack(message, true);
          } catch {
            // as above
          }
        }
        settle(false);
      },
    );
  };
  const flush = () => {
    if (flushing) return;
    flushing = true;
    try {
      while (!done && demand > 0 && head < held.length) {
        const message = held[head] as ConsumeMessage;
        held[head] = undefined as unknown as ConsumeMessage;
        head++;
        if (head === held.length) {
          held.length = 0;
          head = 0;
        }
        const batcher = acks;
        if (batcher === undefined) return;
        let payload: T;
        try {
          payload = serializer.deserialize(message.content.toString('utf8'));
        } catch (error) {
          badPayload(batcher, message, error);
          continue;
        }
        demand--;
        outstanding++;
        const settle = settleOnce(batcher);
        const deliveryCount = countOf(message);
        sink.next({
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
        });
      }
    } finally {
      flushing = false;
    }
  };

  connection
    .createChannel()
    .then(async (ch) => {
      if (cancelled) {
        await closeQuietly(ch);
        return;
      }
      channel = ch;
      const batcher = new AckBatcher(ch);
      acks = batcher;
      let lost: unknown;
      ch.on('error', (error: unknown) => {
        lost = error;
      });
      ch.on('close', () => {
        const wasOurs = channel === ch;
        batcher.close();
        if (wasOurs) {
          channel = undefined;
          acks = undefined;
        }
        held.length = 0;
        head = 0;
        if (wasOurs) end(() => sink.error(new ChannelLostError(queue, lost)));
      });
      await ch.prefetch(prefetch);
      const reply = await ch.consume(
        queue,
        (message) => {
          if (message === null) {
            // the broker cancelled the consumer: the queue is gone
            end(() => sink.complete());
            return;
          }
          if (cancelled) {
            try {
              batcher.nack(message, true);
            } catch {
              // channel gone
            }
            return;
          }
          held.push(message);
          flush();
        },
        { noAck: false },
      );
      consumerTag = reply.consumerTag;
      if (cancelled) await stopConsuming(ch);
    })
    .catch((error: unknown) => {
      const ch = channel;
      channel = undefined;
      acks?.close();
      acks = undefined;
      void closeQuietly(ch);
      end(() => sink.error(new ChannelLostError(queue, error)));
    });

  const stopConsuming = async (ch: Channel) => {
    if (consumerTag !== undefined) {
      const tag = consumerTag;
      consumerTag = undefined;
      try {
        await ch.cancel(tag);
      } catch {
        // channel gone
      }
    }
    giveBack();
    finish();
  };

  return {
    request(n: number) {
      if (done) return;
      demand += n;
      flush();
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      done = true;
      const ch = channel;
      if (ch === undefined) return;
      giveBack();
      void stopConsuming(ch);
    },
  };
}
