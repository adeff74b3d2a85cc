/**
 * What the scripts of `RedisQueue` answer, turned into the queue's results (internal to
 * `sluice/redis`).
 * @module
 */
import type { AckResult, NackResult, QueueDeadLetter, QueueStats, ReceiptRejection } from 'sluice';
import { decodeError, type RedisQueueSerializer } from './codec.js';

/** A flat field list, as `HGETALL` and stream entries give it: name, value, name, value… */
export type Fields = string[];
/** One stream entry: its id and its fields. */
export type RawEntry = [string, Fields];

export const ACK_OK: AckResult = Object.freeze({ ok: true });
export const NACK_OK: NackResult = Object.freeze({ ok: true, deadLettered: false });
export const NACK_DEAD: NackResult = Object.freeze({ ok: true, deadLettered: true });
const REASONS: readonly ReceiptRejection[] = ['stale', 'expired', 'released', 'acked', 'unknown'];
const COUNTERS = [
  'enqueued',
  'duplicates',
  'dropped',
  'delivered',
  'acked',
  'nacked',
  'expired',
  'released',
  'deadLettered',
  'redriven',
  'deadEvicted',
] as const;

export function rejection(reason: unknown): { ok: false; reason: ReceiptRejection } {
  const known = REASONS.includes(reason as ReceiptRejection);
  return { ok: false, reason: known ? (reason as ReceiptRejection) : 'unknown' };
}

export function fieldsOf(flat: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/**
 * The entries of a one-stream XREAD reply: `[[key, entries]]` over RESP2, `[key, entries]`
 * when the client flattens a RESP3 map (ioredis 6).
 */
export function streamEntries(reply: unknown[] | null): RawEntry[] {
  if (reply === null || reply.length === 0) return [];
  const first = reply[0];
  if (typeof first === 'string') return (reply[1] as RawEntry[] | undefined) ?? [];
  return ((first as [string, RawEntry[]])[1] as RawEntry[] | undefined) ?? [];
}

/** A dead letter from its stored fields; a payload the serializer cannot read becomes its error. */
export function deadLetterOf<T>(
  flat: Fields,
  serializer: RedisQueueSerializer<T>,
): QueueDeadLetter<T> {
  const f = fieldsOf(flat);
  let payload: T | undefined;
  let lastError = decodeError(f.le);
  if (f.r !== 'corrupt') {
    try {
      payload = serializer.deserialize(f.p ?? '');
    } catch (error) {
      lastError = error;
    }
  }
  return Object.freeze({
    id: f.i ?? '',
    payload: payload as T,
    attempts: Number(f.a ?? 0),
    lastError,
    reason: f.r === 'expired' || f.r === 'corrupt' ? f.r : 'nacked',
    enqueuedAt: Number(f.t ?? 0),
    deadAt: Number(f.d ?? 0),
  });
}

/** The `stats` script's reply as `QueueStats`. */
export function statsOf(reply: unknown[]): QueueStats {
  const counters = fieldsOf(reply[4] as Fields);
  const stats: Record<string, number> = {
    visible: Number(reply[0]),
    inFlight: Number(reply[1]),
    delayed: Number(reply[2]),
    dead: Number(reply[3]),
  };
  for (const name of COUNTERS) stats[name] = Number(counters[name] ?? 0);
  return stats as unknown as QueueStats;
}
