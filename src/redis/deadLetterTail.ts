/**
 * `RedisQueue.deadLettered`: the dead-letter stream of the whole queue, tailed on a connection
 * of its own while subscribed (internal to `sluice/redis`).
 * @module
 */
import type { Subscriber } from 'rxjs';
import type { QueueDeadLetter } from 'sluice';
import type { RedisQueueConnection } from './redisQueueOptions.js';
import { decodeEntries, decodeStreamRead, type Fields } from './replies.js';

/** What the tail needs from its queue handle. */
export interface DeadLetterTailHost<T> {
  readonly name: string;
  readonly connection: RedisQueueConnection;
  readonly deadKey: string;
  readonly blockTime: number;
  /** True once the handle's close finished. */
  finalized(): boolean;
  /** Sends one command on the handle's own connection. */
  command(where: string, command: string, args: Array<string | number>): Promise<unknown>;
  letter(fields: Fields): QueueDeadLetter<T>;
  failure(where: string, error: unknown): Error;
}

/** Tails the dead-letter stream into `subscriber`; returns the teardown. */
export function tailDeadLetters<T>(
  host: DeadLetterTailHost<T>,
  subscriber: Subscriber<QueueDeadLetter<T>>,
): () => void {
  if (host.finalized()) {
    subscriber.complete();
    return () => {};
  }
  let stopped = false;
  let conn: RedisQueueConnection | undefined;
  const where = `${host.name}.deadLettered`;
  const loop = async () => {
    // Read the starting point on the main connection: ordered before any later call of
    // this handle, so no dead letter this process causes after subscribing is missed.
    const last = await host.command(where, 'XREVRANGE', [host.deadKey, '+', '-', 'COUNT', 1]);
    let lastId = decodeEntries(where, last)[0]?.[0] ?? '0-0';
    if (stopped) return;
    conn = host.connection.duplicate();
    while (!stopped) {
      const reply = await conn.call('XREAD', [
        'COUNT',
        100,
        'BLOCK',
        host.blockTime,
        'STREAMS',
        host.deadKey,
        lastId,
      ]);
      if (stopped) return;
      for (const [id, fields] of decodeStreamRead(where, reply)) {
        lastId = id;
        subscriber.next(host.letter(fields));
      }
    }
  };
  loop().catch((error: unknown) => {
    if (!stopped) subscriber.error(host.failure(where, error));
  });
  return () => {
    stopped = true;
    conn?.disconnect();
  };
}
