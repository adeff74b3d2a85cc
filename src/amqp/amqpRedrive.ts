import { checkInteger, checkOptions, describe } from '../internal/validate.js';
import { type AmqpConnection, checkConnection, closeQuietly } from './connection.js';
import {
  ATTEMPTS_HEADER,
  EXCHANGE_HEADER,
  QUEUE_HEADER,
  REASON_HEADER,
  ROUTING_KEY_HEADER,
} from './deadLetter.js';

/** Options of `amqpRedrive`. */
export interface AmqpRedriveOptions {
  /** The dead-letter queue to take messages from. */
  readonly from: string;
  /** The queue to put them back in (published through the default exchange, by its name). */
  readonly to: string;
  /** At most this many messages are moved. @default Infinity (until `from` is empty) */
  readonly max?: number;
}

/** What `amqpRedrive` did. */
export interface AmqpRedriveResult {
  /** Messages moved back. */
  readonly moved: number;
}

const DEAD_LETTER_HEADERS = [
  REASON_HEADER,
  QUEUE_HEADER,
  EXCHANGE_HEADER,
  ROUTING_KEY_HEADER,
  ATTEMPTS_HEADER,
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
];

/**
 * Moves dead letters back to their work queue, after the cause of their failure was fixed: one
 * message at a time, taken from `from`, published to `to` with publisher confirms, and removed
 * from `from` only once the broker confirmed it (a crash in between leaves a copy in both, never
 * in neither). The dead-letter headers are removed, so a moved message starts over with a full
 * set of attempts. It goes to the queue directly, not through the exchange it first came from,
 * so other subscribers of that exchange do not receive it a second time.
 *
 * **Backpressure.** One message in flight at a time.
 *
 * **Errors.** Rejects with amqplib's error when a channel cannot be opened or the broker closes
 * it (for example `to` does not exist: nothing is lost, the message stays in `from`).
 *
 * @example
 * ```typescript amqp
 * import assert from 'node:assert/strict';
 * import amqplib from 'amqplib';
 * import { amqpRedrive, amqpTopology } from 'sluice/amqp';
 *
 * const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://127.0.0.1');
 * const topology = await amqpTopology(connection, { queue: `redrive-${process.pid}` });
 * const channel = await connection.createChannel();
 * channel.sendToQueue(topology.deadLetterQueue, Buffer.from('"retry me"'));
 * await channel.close();
 *
 * const { moved } = await amqpRedrive(connection, {
 *   from: topology.deadLetterQueue,
 *   to: topology.queue,
 * });
 * assert.equal(moved, 1);
 * await topology.delete();
 * await connection.close();
 * ```
 *
 * @param connection The amqplib connection.
 * @param options `from`, `to`, `max`.
 * @returns How many messages were moved.
 * @throws TypeError or RangeError for a bad option, naming it.
 */
export async function amqpRedrive(
  connection: AmqpConnection,
  options: AmqpRedriveOptions,
): Promise<AmqpRedriveResult> {
  const where = 'amqpRedrive';
  checkConnection(where, connection, 'createConfirmChannel');
  const opts = checkOptions<AmqpRedriveOptions>(where, options);
  for (const name of ['from', 'to'] as const) {
    const value = opts[name];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`${where}: ${name} must be a queue name, got ${describe(value)}`);
    }
  }
  const from = opts.from as string;
  const to = opts.to as string;
  const max =
    opts.max === undefined || opts.max === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : checkInteger(where, 'max', opts.max, 0);

  const channel = await connection.createConfirmChannel();
  let lost: unknown;
  channel.on('error', (error: unknown) => {
    lost = error;
  });
  let moved = 0;
  try {
    while (moved < max) {
      const message = await channel.get(from, { noAck: false });
      if (message === false) break;
      const headers: Record<string, unknown> = { ...(message.properties.headers ?? {}) };
      for (const name of DEAD_LETTER_HEADERS) delete headers[name];
      await new Promise<void>((resolve, reject) => {
        channel.publish(
          '',
          to,
          message.content,
          {
            persistent: true,
            mandatory: false,
            messageId: message.properties.messageId as string | undefined,
            contentType: message.properties.contentType as string | undefined,
            headers,
          },
          (err: unknown) => (err === null || err === undefined ? resolve() : reject(err)),
        );
      });
      channel.ack(message);
      moved++;
    }
  } catch (error) {
    throw lost ?? error;
  } finally {
    await closeQuietly(channel);
  }
  return { moved };
}
