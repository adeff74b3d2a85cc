/**
 * One run of `RedisQueue`'s receive script, its reply turned into deliveries (internal to
 * `sluice/redis`). A payload the serializer cannot read is dead-lettered, never delivered.
 * @module
 */
import type { Delivery } from 'sluice';
import type { Headers } from '../internal/headers.js';
import { quoted } from '../internal/quietError.js';
import { encodeError } from './codec.js';
import { unwrapHeaders } from './headers.js';
import type { NoncePool } from './nonces.js';
import type { Pass } from './receiveLoop.js';
import { NAME, type RedisQueueConfig } from './redisQueueConfig.js';
import type { RawDelivery } from './replies.js';
import type { ScriptRunner } from './scriptRunner.js';
import { RECEIVE_CAP } from './scripts.js';

/** What a pass needs from its queue handle. */
export interface ReceivePassHost<T> {
  readonly config: RedisQueueConfig<T>;
  readonly runner: ScriptRunner;
  readonly nonces: NoncePool;
  /** The store clock's time when the script ran, told before anything else is done. */
  storeTime(now: number): void;
}

/** One receive script: due work, then up to `max` deliveries. */
export async function receivePass<T>(host: ReceivePassHost<T>, max: number): Promise<Pass<T>> {
  const { config, runner } = host;
  const where = `${NAME}.receive`;
  const n = Math.min(max, RECEIVE_CAP);
  const reply = await runner.run(where, 'receive', [config.consumer, n, host.nonces.take(n)]);
  host.storeTime(reply.now);
  const deliveries = await decodeDeliveries(host, where, reply.deliveries);
  return { deliveries, nextDue: reply.nextDue, lastId: reply.lastId };
}

/**
 * Deliveries from the raw ones a script leased (the receive script, or the ack script that
 * leases the next deliveries); a payload the serializer cannot read is dead-lettered.
 */
export async function decodeDeliveries<T>(
  host: Pick<ReceivePassHost<T>, 'config' | 'runner'>,
  where: string,
  raws: readonly RawDelivery[],
): Promise<Delivery<T>[]> {
  const { config, runner } = host;
  const deliveries: Delivery<T>[] = [];
  for (const { id, text, attempt, receipt, deadline } of raws) {
    let payload: T;
    let headers: Headers | undefined;
    try {
      const stored = unwrapHeaders(text);
      headers = stored.headers;
      payload = config.serializer.deserialize(stored.text);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      const reason = new TypeError(
        `${NAME}: message ${quoted(id)} has a payload the serializer cannot read (${detail})`,
      );
      await runner.run(where, 'poison', [receipt, encodeError(reason)]);
      continue;
    }
    const delivery: Delivery<T> = { id, payload, attempt, receipt, deadline };
    deliveries.push(headers === undefined ? delivery : { ...delivery, headers });
  }
  return deliveries;
}
