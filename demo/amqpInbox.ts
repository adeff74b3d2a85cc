/**
 * The payment service's inbox on RabbitMQ (`npm run demo -- --amqp [url]`): a quorum queue
 * with its dead-letter exchange and queue, declared under a name unique to the run and deleted
 * on close. Requests are published with confirms (`AmqpPublisher`) and consumed with
 * `consumeAmqp`. What travels is the request's data; its reply channel is an in-process
 * object, kept here under a reference the message carries.
 */
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { filter, map } from 'rxjs';
import { AmqpPublisher, amqpTopology, consumeAmqp } from '../src/amqp/index.js';
import type { PaymentInbox } from './paymentInbox.js';

/** A request as it travels: everything but its reply channel, and the reference to that. */
interface Wire<D> {
  readonly ref: number;
  readonly data: D;
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}

/**
 * Connects to `url`, declares the inbox's queue and returns the inbox. Rejects with a message
 * naming the URL when the broker cannot be reached or refuses the declaration.
 */
export async function amqpInbox<C extends { readonly reply: unknown }>(
  url: string,
  capacity: number,
  maxAttempts: number,
): Promise<PaymentInbox<C>> {
  type Data = Omit<C, 'reply'>;
  let connection: amqplib.ChannelModel;
  try {
    connection = await amqplib.connect(url);
  } catch (err) {
    throw new Error(`cannot reach RabbitMQ at ${safeUrl(url)}: ${(err as Error).message}`);
  }
  connection.on('error', () => {
    // a lost connection ends the consumer with ChannelLostError: the demo reports that
  });
  const queue = `sluice-demo-${randomUUID().slice(0, 8)}`;
  const topology = await amqpTopology(connection, { queue, maxAttempts }).catch(
    async (err: unknown) => {
      await connection.close().catch(() => undefined);
      throw err;
    },
  );
  const publisher = new AmqpPublisher<Wire<Data>>({ connection, ...topology.publishTo });
  /** Reply channels of the requests published and not yet taken, by reference. */
  const replies = new Map<number, C['reply']>();
  let next = 0;

  return {
    where: `RabbitMQ queue ${queue} at ${safeUrl(url)}`,
    enqueue(charge) {
      if (replies.size >= capacity) return false;
      const ref = next++;
      const { reply, ...data } = charge;
      replies.set(ref, reply);
      publisher.send({ ref, data }).catch(() => {
        // not confirmed: the attempt's ack timeout runs out and the order is retried
        replies.delete(ref);
      });
      return true;
    },
    consume: (drain) =>
      consumeAmqp<Wire<Data>>(
        { connection, queue: topology.queue, deadLetter: topology.deadLetter, prefetch: 64 },
        () => undefined, // taken = acked, as in memory
        { concurrency: 64, maxAttempts, drain },
      ).pipe(
        filter((outcome) => outcome.status === 'acked'),
        map((outcome) => {
          const { ref, data } = outcome.message.payload;
          const reply = replies.get(ref);
          replies.delete(ref);
          return reply === undefined ? undefined : ({ ...data, reply } as unknown as C);
        }),
        filter((charge): charge is C => charge !== undefined),
      ),
    stats: () => ({ visible: replies.size, inFlight: 0, delayed: 0 }),
    async close() {
      await publisher.close().catch(() => undefined);
      await topology.delete().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
