import type { Channel } from 'amqplib';
import { checkInteger, checkOneOf, checkOptions, describe } from '../internal/validate.js';
import { type AmqpRedriveResult, amqpRedrive } from './amqpRedrive.js';
import { type AmqpConnection, checkConnection, closeQuietly } from './connection.js';
import type { AmqpDeadLetterTarget } from './deadLetter.js';

/** Options of `amqpTopology`. */
export interface AmqpTopologyOptions {
  /** The work queue's name. */
  readonly queue: string;
  /**
   * Deliveries a message gets before it is dead-lettered. The queue's delivery limit is set to
   * match (a quorum queue counts deliveries, even to consumers that crashed), and
   * `consumeAmqp`'s `maxAttempts` should be the same number. @default 5
   */
  readonly maxAttempts?: number;
  /**
   * `'quorum'` (replicated, counts deliveries, enforces the delivery limit) or `'classic'` (no
   * delivery count: `maxAttempts` is then not enforced by the broker). @default 'quorum'
   */
  readonly queueType?: 'quorum' | 'classic';
  /**
   * An exchange to bind the queue to, declared if missing: `'direct'` routes by exact key,
   * `'topic'` by pattern (`order.*`, `order.#`), `'fanout'` to every bound queue. Without it
   * messages reach the queue through the default exchange, by its name.
   */
  readonly exchange?: { readonly name: string; readonly type: 'direct' | 'topic' | 'fanout' };
  /**
   * Routing keys (direct) or patterns (topic) binding the queue to `exchange`.
   * @default [queue] for a direct exchange, ['#'] for a topic exchange, [''] for fanout
   */
  readonly bindings?: readonly string[];
  /** The dead-letter exchange's name. @default `${queue}.dlx` */
  readonly deadLetterExchange?: string;
  /** The dead-letter queue's name. @default `${queue}.dlq` */
  readonly deadLetterQueue?: string;
}

/** What `amqpTopology` declared, and how to use it. */
export interface AmqpTopology {
  /** The work queue. */
  readonly queue: string;
  /** The dead-letter queue. */
  readonly deadLetterQueue: string;
  /** Where dead letters go: give it to `amqpReceiver` / `consumeAmqp` as `deadLetter`. */
  readonly deadLetter: AmqpDeadLetterTarget;
  /**
   * Where to publish so that messages reach the queue: spread it into `AmqpPublisher`'s
   * options. The exchange and the first binding, or the default exchange and the queue's name.
   */
  readonly publishTo: { readonly exchange: string; readonly routingKey: string };
  /** Moves up to `max` dead letters back to the work queue: `amqpRedrive` from the dead-letter queue. */
  redrive(options?: { readonly max?: number }): Promise<AmqpRedriveResult>;
  /** Deletes the queues and the dead-letter exchange (not `exchange`, which others may share). */
  delete(): Promise<void>;
}

/**
 * Declares a work queue the way `consumeAmqp` expects it: a quorum queue with a delivery limit
 * of `maxAttempts`, its dead-letter exchange and dead-letter queue, and its bindings to a
 * direct, topic or fanout exchange. Declaring is idempotent: every process may call it at
 * start with the same options (RabbitMQ refuses a redeclaration with different arguments, with
 * a `PRECONDITION_FAILED` channel error).
 *
 * Fan-out across processes is one call per subscriber: each declares its own queue bound to the
 * same topic exchange, and every message matching its patterns reaches each of them; the
 * processes sharing one queue compete for its messages instead.
 *
 * ```text
 * publisher ─▶ exchange "orders" (topic) ─ order.* ─▶ queue "billing"  ─▶ consumers
 *                                        └ order.# ─▶ queue "audit"    ─▶ consumers
 * queue ─ failed maxAttempts times ─▶ "billing.dlx" ─▶ "billing.dlq"
 * ```
 *
 * **Errors.** Rejects with amqplib's error when the broker refuses a declaration (an existing
 * queue or exchange with other arguments, no permission); the declarations made before it stay.
 *
 * @example
 * ```typescript amqp
 * import assert from 'node:assert/strict';
 * import amqplib from 'amqplib';
 * import { firstValueFrom } from 'rxjs';
 * import { AmqpPublisher, amqpReceiver, amqpTopology } from 'sluice/amqp';
 *
 * const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://127.0.0.1');
 * const exchange = { name: `orders-${process.pid}`, type: 'topic' } as const;
 * // two subscribers, each its own queue on the same topic: both get every order
 * const billing = await amqpTopology(connection, { queue: `billing-${process.pid}`, exchange, bindings: ['order.*'] });
 * const audit = await amqpTopology(connection, { queue: `audit-${process.pid}`, exchange, bindings: ['#'] });
 *
 * const publisher = new AmqpPublisher<{ id: number }>({ connection, exchange: exchange.name, routingKey: 'order.created' });
 * await publisher.send({ id: 7 });
 * for (const { queue } of [billing, audit]) {
 *   const delivery = await firstValueFrom(amqpReceiver<{ id: number }>({ connection, queue }));
 *   assert.equal(delivery.payload.id, 7);
 *   delivery.ack();
 * }
 * await publisher.close();
 * await billing.delete();
 * await audit.delete();
 * const cleanup = await connection.createChannel();
 * await cleanup.deleteExchange(exchange.name);
 * await connection.close();
 * ```
 *
 * @param connection The amqplib connection to declare on (a channel is opened and closed).
 * @param options `queue`, `maxAttempts`, `queueType`, `exchange`, `bindings`, `deadLetterExchange`, `deadLetterQueue`.
 * @returns The names declared, the dead-letter target and where to publish.
 * @throws TypeError or RangeError for a bad option, naming it.
 */
export async function amqpTopology(
  connection: AmqpConnection,
  options: AmqpTopologyOptions,
): Promise<AmqpTopology> {
  const where = 'amqpTopology';
  checkConnection(where, connection, 'createChannel');
  const opts = checkOptions<AmqpTopologyOptions>(where, options);
  const queue = opts.queue;
  if (typeof queue !== 'string' || queue === '') {
    throw new TypeError(`${where}: queue must be a non-empty string, got ${describe(queue)}`);
  }
  const maxAttempts =
    opts.maxAttempts === undefined ? 5 : checkInteger(where, 'maxAttempts', opts.maxAttempts, 1);
  const queueType =
    opts.queueType === undefined
      ? 'quorum'
      : checkOneOf(where, 'queueType', opts.queueType, ['quorum', 'classic'] as const);
  const exchange = opts.exchange;
  if (
    exchange !== undefined &&
    (exchange === null || typeof exchange.name !== 'string' || exchange.name === '')
  ) {
    throw new TypeError(
      `${where}: exchange must be { name, type } with a non-empty name, got ${describe(exchange)}`,
    );
  }
  const exchangeType =
    exchange === undefined
      ? undefined
      : checkOneOf(where, 'exchange.type', exchange.type, ['direct', 'topic', 'fanout'] as const);
  let bindings: readonly string[] = [];
  if (exchange !== undefined) {
    bindings =
      opts.bindings ??
      (exchangeType === 'topic' ? ['#'] : exchangeType === 'fanout' ? [''] : [queue]);
    if (!Array.isArray(bindings) || bindings.some((b) => typeof b !== 'string')) {
      throw new TypeError(
        `${where}: bindings must be an array of strings, got ${describe(bindings)}`,
      );
    }
    if (bindings.length === 0) {
      throw new RangeError(`${where}: bindings must name at least one routing key, got []`);
    }
  } else if (opts.bindings !== undefined) {
    throw new TypeError(`${where}: bindings need an exchange to bind to`);
  }
  const dlx = opts.deadLetterExchange ?? `${queue}.dlx`;
  const dlq = opts.deadLetterQueue ?? `${queue}.dlq`;
  for (const [name, value] of [
    ['deadLetterExchange', dlx],
    ['deadLetterQueue', dlq],
  ] as const) {
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`${where}: ${name} must be a non-empty string, got ${describe(value)}`);
    }
  }

  const channel = await connection.createChannel();
  channel.on('error', () => {
    // the failing call rejects with the same error
  });
  try {
    await channel.assertExchange(dlx, 'direct', { durable: true });
    await channel.assertQueue(dlq, {
      durable: true,
      arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
    });
    await channel.bindQueue(dlq, dlx, queue);
    const args: Record<string, unknown> = {
      'x-dead-letter-exchange': dlx,
      'x-dead-letter-routing-key': queue,
    };
    if (queueType === 'quorum') {
      args['x-queue-type'] = 'quorum';
      // a quorum queue delivers a message delivery-limit + 1 times before dead-lettering it
      args['x-delivery-limit'] = maxAttempts - 1;
    }
    await channel.assertQueue(queue, { durable: true, arguments: args });
    if (exchange !== undefined && exchangeType !== undefined) {
      await channel.assertExchange(exchange.name, exchangeType, { durable: true });
      for (const key of bindings) await channel.bindQueue(queue, exchange.name, key);
    }
  } finally {
    await closeQuietly(channel);
  }
  const publishTo =
    exchange === undefined
      ? { exchange: '', routingKey: queue }
      : {
          exchange: exchange.name,
          routingKey: exchangeType === 'topic' ? topicKey(bindings[0] ?? '#') : (bindings[0] ?? ''),
        };
  return {
    queue,
    deadLetterQueue: dlq,
    deadLetter: { exchange: dlx, routingKey: queue },
    publishTo,
    redrive: (redrive) => amqpRedrive(connection, { from: dlq, to: queue, max: redrive?.max }),
    async delete(): Promise<void> {
      const ch: Channel = await connection.createChannel();
      ch.on('error', () => {});
      try {
        await ch.deleteQueue(queue);
        await ch.deleteQueue(dlq);
        await ch.deleteExchange(dlx);
      } finally {
        await closeQuietly(ch);
      }
    },
  };
}

/** A routing key that a topic pattern matches: wildcards replaced by a word. */
function topicKey(pattern: string): string {
  return pattern
    .split('.')
    .filter((word) => word !== '#')
    .map((word) => (word === '*' ? 'any' : word))
    .join('.');
}
