/**
 * Named errors of `sluice/amqp`. Like the core's errors, each has a stable `name`, and an error
 * that refuses a message carries it back as `value`: a publish that did not reach a queue is
 * never a silent loss.
 * @module
 */

import { quietCause, quoted } from '../internal/quietError.js';

/**
 * The broker could not route a `mandatory` message to any queue (no binding matched its
 * routing key) and returned it. `value` is the message; `exchange` and `routingKey` say where
 * it was sent, `replyText` is the broker's reason (`'NO_ROUTE'`).
 */
export class UnroutableError<T = unknown> extends Error {
  override readonly name = 'UnroutableError' as const;
  readonly value: T;
  readonly exchange: string;
  readonly routingKey: string;
  readonly replyText: string;
  constructor(value: T, exchange: string, routingKey: string, replyText: string) {
    super(
      `message to exchange "${exchange}" with routing key "${routingKey}" was returned unroutable (${replyText})`,
    );
    this.value = value;
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.replyText = replyText;
  }
}

/**
 * The broker did not take responsibility for a published message: it nacked it, or the
 * channel or connection closed before it confirmed it. `value` is the message; whether the
 * broker kept a copy is unknown, so publish it again (consumers should tolerate a duplicate).
 * `reason` is `'nacked'` or `'closed'`; `cause` is a copy of the client's error (its name,
 * message and code, nothing the client attached to it).
 */
export class PublishFailedError<T = unknown> extends Error {
  override readonly name = 'PublishFailedError' as const;
  readonly value: T;
  readonly reason: 'nacked' | 'closed';
  constructor(value: T, reason: 'nacked' | 'closed', cause?: unknown) {
    super(
      reason === 'nacked'
        ? 'the broker nacked the message'
        : 'the channel closed before the broker confirmed the message',
      cause === undefined ? undefined : { cause: quietCause(cause) },
    );
    this.value = value;
    this.reason = reason;
  }
}

/**
 * A receiver's or consumer's channel closed under it: the connection was lost or closed, the
 * broker closed the channel (the queue was deleted, a `rabbitmqctl close_connection`), or an
 * ack was refused. Every delivery it had not acknowledged goes back to the queue, so nothing is
 * lost; subscribe again on a live connection to continue. `queue` is the queue it consumed.
 */
export class ChannelLostError extends Error {
  override readonly name = 'ChannelLostError' as const;
  readonly queue: string;
  constructor(queue: string, cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(
      `the channel consuming queue ${quoted(queue)} closed${detail}`,
      cause === undefined ? undefined : { cause: quietCause(cause) },
    );
    this.queue = queue;
  }
}
