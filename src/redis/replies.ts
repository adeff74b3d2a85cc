/**
 * Typed decoders of what the scripts of `RedisQueue` answer (internal to `sluice/redis`).
 *
 * Every script answers a list whose last element is the dead letters it evicted (see
 * scripts.ts). `decodeReply(name, where, reply)` checks the shape of one script's reply and
 * turns it into a typed value; a reply of any other shape (a proxy in the way, scripts of
 * another version) rejects the call with a `RedisCommandError` naming the script and what was
 * wrong, never with a `TypeError` from deep inside the queue. The error describes values by
 * kind only: a reply may hold a payload, which must not reach a log.
 * @module
 */
import type { AckResult, NackResult, QueueDeadLetter, QueueStats, ReceiptRejection } from 'sluice';
import type { Headers } from '../internal/headers.js';
import { decodeError, type RedisQueueSerializer } from './codec.js';
import { unwrapHeaders } from './headers.js';
import { RedisCommandError } from './redisCommandError.js';
import type { ScriptName } from './scripts.js';

/** A flat field list, as `HGETALL` and stream entries give it: name, value, name, value… */
export type Fields = string[];
/** One stream entry: its id and its fields. */
export type RawEntry = [string, Fields];

/** One message's answer in an `enqueue` batch, with the id it was stored under (or refused as). */
export type EnqueueOutcome = readonly [
  result: 'ok' | 'duplicate' | 'dropped' | 'reserved' | 'full',
  id: string,
];

/** One delivery as the receive script hands it out, its payload still serialized. */
export interface RawDelivery {
  readonly id: string;
  readonly text: string;
  readonly attempt: number;
  readonly receipt: string;
  /** The lease's deadline on the store clock, Infinity for none. */
  readonly deadline: number;
}

/** What each script answers once decoded (the evicted dead letters taken off). */
export interface ScriptReplies {
  readonly enqueue: EnqueueOutcome[];
  readonly receive: {
    /** The store clock when the script ran. */
    readonly now: number;
    readonly deliveries: RawDelivery[];
    /** Store-clock time of the next lease deadline or delay, or -1. */
    readonly nextDue: number;
    /** The newest entry of the stream ('' when deliveries came). */
    readonly lastId: string;
  };
  readonly ack: {
    /** One answer per receipt: 'ok' or why it was refused. */
    readonly results: string[];
    /** The next deliveries, leased after the acks for the workers they free. */
    readonly deliveries: RawDelivery[];
    /** The store clock when the script ran. */
    readonly now: number;
    /** The leases the queue holds after the call, every consumer's (this one's included). */
    readonly leases: number;
  };
  /** 'ok', 'dead' or why the receipt was refused. */
  readonly nack: string;
  /** 'ok' or why the receipt was refused. */
  readonly release: string;
  /** 'ok' with the new deadline (Infinity for none), or why the receipt was refused. */
  readonly extend: { readonly result: string; readonly deadline: number };
  /** 'ok' or why the receipt was refused. */
  readonly poison: string;
  readonly stats: QueueStats;
  readonly redrive: {
    readonly redriven: string[];
    readonly skipped: Array<[string, string]>;
    /** The next page to read, '' when done, 'again' while older dead letters are indexed. */
    readonly next: string;
  };
  readonly purge: {
    readonly purged: Fields[];
    /** The next page to read, '' when done, 'again' while older dead letters are indexed. */
    readonly next: string;
  };
  /** Every stored shared setting, flat. */
  readonly settings: Fields;
}

/** A script's decoded answer and the dead letters it evicted. */
export interface Decoded<R> {
  readonly result: R;
  readonly evicted: Fields[];
}

/** A malformed reply: `what` was expected at `at`, `value` came. */
class Malformed {
  constructor(
    readonly at: string,
    readonly expected: string,
    readonly value: unknown,
  ) {}
}

/** The kind of a value, never its content (a reply may hold a payload). */
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return typeof value;
}

function list(value: unknown, at: string, length?: number): unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    throw new Malformed(at, length === undefined ? 'an array' : `an array of ${length}`, value);
  }
  return value;
}

function text(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new Malformed(at, 'a string', value);
  return value;
}

/** A number, sent by Lua as an integer reply (or, from `str()`, as a string of digits). */
function num(value: unknown, at: string): number {
  const n = numberOf(value);
  if (n === undefined) throw new Malformed(at, 'a number', value);
  return n;
}

/** `num` without a label: undefined when `value` is not a number. */
function numberOf(value: unknown): number | undefined {
  const n = typeof value === 'string' && value !== '' ? Number(value) : value;
  return typeof n !== 'number' || Number.isNaN(n) ? undefined : n;
}

/** -1 stands for Infinity (no deadline). */
function deadline(value: unknown, at: string): number {
  const n = num(value, at);
  return n < 0 ? Number.POSITIVE_INFINITY : n;
}

function texts(value: unknown, at: string): string[] {
  const items = list(value, at);
  // the labels are built only for the item that is wrong (replies carry one per ack)
  for (let i = 0; i < items.length; i++) {
    if (typeof items[i] !== 'string') text(items[i], `${at}[${i}]`);
  }
  return items as string[];
}

function fields(value: unknown, at: string): Fields {
  const flat = texts(value, at);
  if (flat.length % 2 !== 0) throw new Malformed(at, 'name, value pairs', value);
  return flat;
}

function pair(value: unknown, at: string): [string, string] {
  const [a, b] = list(value, at, 2);
  return [text(a, `${at}[0]`), text(b, `${at}[1]`)];
}

const OUTCOMES = new Set<string>(['ok', 'duplicate', 'dropped', 'reserved', 'full']);

function enqueueOutcome(value: unknown, at: string): EnqueueOutcome {
  const [result, id] = pair(value, at);
  if (!OUTCOMES.has(result)) throw new Malformed(`${at}[0]`, 'an enqueue outcome', result);
  return [result as EnqueueOutcome[0], id];
}

/**
 * The deliveries of a receive or ack reply: three items each (id, payload,
 * "<attempt>:<receipt>"), every one with the call's deadline. Labels are built only for a
 * delivery that is wrong.
 */
function rawDeliveries(value: unknown, until: unknown): RawDelivery[] {
  const items = list(value, 'deliveries');
  if (items.length % 3 !== 0) throw new Malformed('deliveries', 'three items per delivery', value);
  const due = deadline(until, 'deadline');
  const out: RawDelivery[] = new Array(items.length / 3);
  for (let i = 0; i < out.length; i++) {
    const id = items[i * 3];
    const payload = items[i * 3 + 1];
    const meta = items[i * 3 + 2];
    const colon = typeof meta === 'string' ? meta.indexOf(':') : -1;
    const attempt = colon > 0 ? Number((meta as string).slice(0, colon)) : Number.NaN;
    if (typeof id !== 'string' || typeof payload !== 'string' || !(attempt >= 1)) {
      const at = `deliveries[${i}]`;
      text(id, `${at}.id`);
      text(payload, `${at}.payload`);
      throw new Malformed(`${at}.receipt`, 'a string "<attempt>:<receipt>"', meta);
    }
    out[i] = {
      id,
      text: payload,
      attempt,
      receipt: (meta as string).slice(colon + 1),
      deadline: due,
    };
  }
  return out;
}

function stats(body: unknown[]): QueueStats {
  const counters = fieldsOf(fields(body[4], 'counters'));
  const count = (name: keyof QueueStats) => Number(counters[name] ?? 0);
  return {
    visible: num(body[0], 'visible'),
    inFlight: num(body[1], 'inFlight'),
    delayed: num(body[2], 'delayed'),
    dead: num(body[3], 'dead'),
    enqueued: count('enqueued'),
    duplicates: count('duplicates'),
    dropped: count('dropped'),
    delivered: count('delivered'),
    acked: count('acked'),
    nacked: count('nacked'),
    expired: count('expired'),
    released: count('released'),
    deadLettered: count('deadLettered'),
    redriven: count('redriven'),
    deadEvicted: count('deadEvicted'),
  };
}

type Decoders = { readonly [N in ScriptName]: (body: unknown[]) => ScriptReplies[N] };

/** Per script: how many elements come before the evicted list, and how to read them. */
const SIZES: { readonly [N in ScriptName]: number } = {
  enqueue: 1,
  receive: 5,
  ack: 5,
  nack: 1,
  release: 1,
  extend: 2,
  poison: 1,
  stats: 5,
  redrive: 3,
  purge: 2,
  settings: 1,
};

const DECODERS: Decoders = {
  enqueue: (b) => list(b[0], 'results').map((r, i) => enqueueOutcome(r, `results[${i}]`)),
  receive: (b) => ({
    now: num(b[0], 'now'),
    nextDue: num(b[1], 'nextDue'),
    lastId: text(b[2], 'lastId'),
    deliveries: rawDeliveries(b[3], b[4]),
  }),
  ack: (b) => {
    const results = text(b[0], 'results');
    return {
      results: results === '' ? [] : results.split(' '),
      deliveries: rawDeliveries(b[1], b[4]),
      now: num(b[2], 'now'),
      leases: num(b[3], 'leases'),
    };
  },
  nack: (b) => text(b[0], 'result'),
  release: (b) => text(b[0], 'result'),
  extend: (b) => ({ result: text(b[0], 'result'), deadline: deadline(b[1], 'deadline') }),
  poison: (b) => text(b[0], 'result'),
  stats,
  redrive: (b) => ({
    redriven: texts(b[0], 'redriven'),
    skipped: list(b[1], 'skipped').map((s, i) => pair(s, `skipped[${i}]`)),
    next: text(b[2], 'next'),
  }),
  purge: (b) => ({
    purged: list(b[0], 'purged').map((f, i) => fields(f, `purged[${i}]`)),
    next: text(b[1], 'next'),
  }),
  settings: (b) => fields(b[0], 'settings'),
};

/**
 * Checks and decodes the reply of script `name`, run for the call `where`.
 *
 * @throws RedisCommandError when the reply does not have the script's shape.
 */
export function decodeReply<N extends ScriptName>(
  name: N,
  where: string,
  reply: unknown,
): Decoded<ScriptReplies[N]> {
  try {
    const body = list(reply, 'the reply', SIZES[name] + 1);
    const evicted = list(body[body.length - 1], 'evicted').map((f, i) =>
      fields(f, `evicted[${i}]`),
    );
    return { result: (DECODERS[name] as (body: unknown[]) => ScriptReplies[N])(body), evicted };
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    throw new RedisCommandError(
      where,
      new TypeError(
        `the ${name} script answered a malformed reply: ${error.at} should be ` +
          `${error.expected}, got ${kind(error.value)}`,
      ),
    );
  }
}

/**
 * The entries of an `XRANGE`/`XREVRANGE` reply (null counts as none).
 *
 * @throws RedisCommandError when the reply is not a list of entries.
 */
export function decodeEntries(where: string, reply: unknown): RawEntry[] {
  try {
    if (reply === null) return [];
    return list(reply, 'the reply').map((entry, i) => {
      const [id, flat] = list(entry, `entry[${i}]`, 2);
      return [text(id, `entry[${i}].id`), fields(flat, `entry[${i}].fields`)];
    });
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    throw new RedisCommandError(
      where,
      new TypeError(
        `Redis answered a malformed stream reply: ${error.at} should be ${error.expected}, ` +
          `got ${kind(error.value)}`,
      ),
    );
  }
}

/**
 * The entries of a one-stream XREAD reply: `[[key, entries]]` over RESP2, `[key, entries]`
 * when the client flattens a RESP3 map (ioredis 6); null when the read timed out.
 *
 * @throws RedisCommandError when the reply has neither shape.
 */
export function decodeStreamRead(where: string, reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return decodeEntries(where, reply);
  if (reply.length === 0) return [];
  const first: unknown = reply[0];
  if (typeof first === 'string') return decodeEntries(where, reply[1] ?? null);
  return decodeEntries(where, Array.isArray(first) ? (first[1] ?? null) : reply);
}

/** The answer of a receipt call that succeeded (`ack`, `release`): one frozen object. */
export const ACK_OK: AckResult = Object.freeze({ ok: true });
/** A `nack` that made the message visible again (now or after its delay). */
export const NACK_OK: NackResult = Object.freeze({ ok: true, deadLettered: false });
/** A `nack` on the last attempt: the message is a dead letter. */
export const NACK_DEAD: NackResult = Object.freeze({ ok: true, deadLettered: true });
const REASONS: readonly ReceiptRejection[] = ['stale', 'expired', 'released', 'acked', 'unknown'];

/** A refused receipt's result; a reason this version does not know counts as `'unknown'`. */
export function rejection(reason: unknown): { ok: false; reason: ReceiptRejection } {
  const known = REASONS.includes(reason as ReceiptRejection);
  return { ok: false, reason: known ? (reason as ReceiptRejection) : 'unknown' };
}

/** A flat field list as a record. */
export function fieldsOf(flat: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** A dead letter from its stored fields; a payload the serializer cannot read becomes its error. */
export function deadLetterOf<T>(
  flat: Fields,
  serializer: RedisQueueSerializer<T>,
): QueueDeadLetter<T> {
  const f = fieldsOf(flat);
  let payload: T | undefined;
  let headers: Headers | undefined;
  let lastError = decodeError(f.le);
  if (f.r !== 'corrupt') {
    try {
      const stored = unwrapHeaders(f.p ?? '');
      headers = stored.headers;
      payload = serializer.deserialize(stored.text);
    } catch (error) {
      lastError = error;
    }
  }
  const letter: QueueDeadLetter<T> = {
    id: f.i ?? '',
    payload: payload as T,
    attempts: Number(f.a ?? 0),
    lastError,
    reason: f.r === 'expired' || f.r === 'corrupt' ? f.r : 'nacked',
    enqueuedAt: Number(f.t ?? 0),
    deadAt: Number(f.d ?? 0),
  };
  return Object.freeze(headers === undefined ? letter : { ...letter, headers });
}
