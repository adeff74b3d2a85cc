/**
 * Dead-lettering done by the client rather than the broker, so that the reason travels with
 * the message: the message is published (with confirms) to the dead-letter exchange with the
 * reason and its origin in headers, and only then acknowledged on the source queue. A crash
 * between the two leaves a copy in both places, never in neither.
 * @module
 */
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { AmqpConnection } from './connection.js';

/** Where dead letters go: an exchange and the routing key to publish them with. */
export interface AmqpDeadLetterTarget {
  /** The dead-letter exchange. */
  readonly exchange: string;
  /** The routing key dead letters are published with. */
  readonly routingKey: string;
}

/** Header: why the message was dead-lettered. */
export const REASON_HEADER = 'x-sluice-reason';
/** Header: the queue it was dead-lettered from. */
export const QUEUE_HEADER = 'x-sluice-queue';
/** Header: its original exchange. */
export const EXCHANGE_HEADER = 'x-sluice-exchange';
/** Header: its original routing key. */
export const ROUTING_KEY_HEADER = 'x-sluice-routing-key';
/** Header: how many times it had been delivered. */
export const ATTEMPTS_HEADER = 'x-sluice-attempts';

/** Publishes dead letters on a lazily opened confirm channel of its own. */
export class DeadLetterWriter {
  readonly #connection: AmqpConnection;
  readonly #target: AmqpDeadLetterTarget;
  readonly #queue: string;
  #channel: Promise<ConfirmChannel> | undefined;

  constructor(connection: AmqpConnection, target: AmqpDeadLetterTarget, queue: string) {
    this.#connection = connection;
    this.#target = target;
    this.#queue = queue;
  }

  /** Resolves once the broker confirmed the dead letter; rejects if it could not. */
  async write(message: ConsumeMessage, reason: string, attempts: number): Promise<void> {
    if (this.#channel === undefined) {
      const opening = this.#connection.createConfirmChannel().then((channel) => {
        channel.on('error', () => {});
        channel.on('close', () => {
          if (this.#channel === opening) this.#channel = undefined;
        });
        return channel;
      });
      opening.catch(() => {
        if (this.#channel === opening) this.#channel = undefined;
      });
      this.#channel = opening;
    }
    const channel = await this.#channel;
    const { properties, fields, content } = message;
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        this.#target.exchange,
        this.#target.routingKey,
        content,
        {
          persistent: true,
          messageId: properties.messageId as string | undefined,
          contentType: properties.contentType as string | undefined,
          headers: {
            ...(properties.headers ?? {}),
            [REASON_HEADER]: reason,
            [QUEUE_HEADER]: this.#queue,
            [EXCHANGE_HEADER]: fields.exchange,
            [ROUTING_KEY_HEADER]: fields.routingKey,
            [ATTEMPTS_HEADER]: attempts,
          },
        },
        (err: unknown) => (err === null || err === undefined ? resolve() : reject(err)),
      );
    });
  }

  async close(): Promise<void> {
    const channel = await this.#channel?.catch(() => undefined);
    this.#channel = undefined;
    try {
      await channel?.close();
    } catch {
      // already closed
    }
  }
}
