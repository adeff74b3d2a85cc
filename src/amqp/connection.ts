/**
 * What `sluice/amqp` needs from the caller's amqplib connection. Types only: this entry point
 * never loads amqplib, it is handed a connection (`await amqplib.connect(url)`), so amqplib
 * stays an optional peer dependency and the core package never sees it.
 * @module
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import { describe } from '../internal/validate.js';

/**
 * An amqplib connection as returned by `amqplib.connect()` (a `ChannelModel`), or anything
 * else that opens channels the same way (amqplib's recovering connection). Publishers,
 * receivers and consumers open their own channels on it and close them when they end; the
 * connection stays the caller's to close.
 */
export interface AmqpConnection {
  /** Opens a channel (receivers and topology). */
  createChannel(): Promise<Channel>;
  /** Opens a channel in confirm mode (publishers, dead-lettering, redrive). */
  createConfirmChannel(): Promise<ConfirmChannel>;
}

/** Closes a channel, ignoring the error of one that is already closed. */
export async function closeQuietly(channel: Channel | undefined): Promise<void> {
  if (channel === undefined) return;
  try {
    await channel.close();
  } catch {
    // already closed, or the connection is gone: nothing left to release
  }
}

/**
 * Refuses, with a `TypeError` naming `where`, a `connection` that cannot open the channel kind
 * the caller needs (`'createChannel'` or `'createConfirmChannel'`).
 */
export function checkConnection(
  where: string,
  connection: unknown,
  opens: 'createChannel' | 'createConfirmChannel',
): AmqpConnection {
  if (
    connection === null ||
    typeof connection !== 'object' ||
    typeof (connection as Partial<AmqpConnection>)[opens] !== 'function'
  ) {
    throw new TypeError(
      `${where}: connection must be an amqplib connection, got ${describe(connection)}`,
    );
  }
  return connection as AmqpConnection;
}
