/**
 * Payload encoding of `sluice/amqp` (machinery; the serializer type and `jsonSerializer` are
 * re-exported by `src/amqp/index.ts`). The serializer is the one `sluice/redis` uses: text in,
 * text out, strict JSON by default; message bodies are its UTF-8 bytes.
 * @module
 */
import { jsonSerializer, type RedisQueueSerializer, serializeOrThrow } from '../redis/codec.js';

/**
 * How payloads become message bodies, and back. `serialize` runs in the publisher's process
 * and should throw for a payload it cannot represent faithfully (the publish is then refused
 * with a `TypeError` naming the payload); `deserialize` runs in the consumer's, and a body it
 * cannot read is dead-lettered with the reason, never handed to a handler.
 */
export type AmqpSerializer<T> = RedisQueueSerializer<T>;

export { jsonSerializer };

/** The body of a message: the serializer's text as UTF-8, or a TypeError naming the payload. */
export function encodeBody<T>(where: string, serializer: AmqpSerializer<T>, payload: T): Buffer {
  return Buffer.from(serializeOrThrow(where, serializer, payload), 'utf8');
}

/** Describes an error for a header: its name and message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return 'unprintable error';
  }
}
