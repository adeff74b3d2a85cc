import { createHash } from 'node:crypto';
import type { Observable, Observer } from 'rxjs';
import { ChannelClosedError, LaggedError } from 'sluice';
import { PullIterator } from '../internal/pullIterator.js';
import {
  checkCapacity,
  checkFunction,
  checkInteger,
  checkOneOf,
  checkOptions,
  describe,
  optionNames,
} from '../internal/validate.js';
import { checkConnection, checkSerializer } from './checkClient.js';
import { decodeError, encodeError, type RedisQueueSerializer, serializeOrThrow } from './codec.js';
import { type Demand, PullObservable, type Sink } from './demand.js';
import { RedisCommandError } from './redisCommandError.js';
import type { RedisQueueConnection } from './redisQueueOptions.js';

const NAME = 'redisBroadcast';

/** Options of `redisBroadcast()`. */
export interface RedisBroadcastOptions<T> {
  /** The Redis connection (an ioredis client). Never closed by the channel: its owner does. */
  readonly connection: RedisQueueConnection;
  /** The channel's name: every process that opens the same name (and prefix) shares it. */
  readonly name: string;
  /**
   * Messages kept in Redis for receivers that have not read them: the stream is trimmed to
   * this many, whatever the number of receivers. Every process should open the channel with
   * the same capacity (the last sender's trims).
   */
  readonly capacity: number;
  /** Put before every key. @default 'sluice:' */
  readonly prefix?: string;
  /**
   * What a receiver that fell more than `capacity` messages behind gets when it reads again;
   * either way it continues from the oldest message still kept. `'skip'`: it reads on and
   * the count goes to `onLag`; `'error'`: its stream fails with `LaggedError` (`skipped` is
   * the count). @default 'skip'
   */
  readonly lag?: 'skip' | 'error';
  /** Called with the exact number of messages a receiver skipped, under `lag: 'skip'`. */
  readonly onLag?: (skipped: number) => void;
  /** Payloads to strings and back. @default jsonSerializer() */
  readonly serializer?: RedisQueueSerializer<T>;
  /** The longest one blocking read waits before it reads again, in ms. @default 1000 */
  readonly blockTime?: number;
}

/** The sending half of a `redisBroadcast` channel: an RxJS `Observer<T>` with Promise methods. */
export interface RedisBroadcastSender<T> extends Observer<T> {
  /** True once this handle closed (or failed) the channel, or learned that another did. */
  readonly isClosed: boolean;
  /**
   * Appends a message for every receiver, in every process; resolves once Redis has it.
   * Never waits for receivers: a slow one lags instead. Rejects with `ChannelClosedError`
   * (carrying `value`) once the channel is closed, from this process or another, and with
   * `TypeError` for a payload the serializer cannot store.
   */
  send(value: T): Promise<void>;
  /** `send` for `source$.subscribe(tx)`; a failure is kept and rejects `close()`. */
  next(value: T): void;
  /** Fails the channel: every receiver reads what was sent before, then gets `err`. */
  error(err: unknown): void;
  /** Same as `close()`, for `source$.subscribe(tx)`. */
  complete(): void;
  /**
   * Ends the channel for every receiver in every process: each reads what was sent before
   * the end, then completes; later sends are refused. Idempotent. Resolves once Redis has
   * the end; rejects with the first failure of a `next` of this handle, if any.
   */
  close(): Promise<void>;
}

/**
 * The receiving half: an `Observable<T>` whose every subscription (and every `for await`
 * loop, every `workerPool` reading it) is a receiver of its own, with its own cursor, starting
 * at the tail when it starts. A demand-aware source: a sluice consumer reads only as fast as
 * it works, and falls behind (lags) rather than buffering.
 */
export interface RedisBroadcastReceiver<T> extends Observable<T>, AsyncIterable<T> {
  /** Messages skipped by this handle's receivers because they lagged, summed. */
  readonly lagged: number;
  /** A receiver starting at the tail; `break` ends it. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

/** One Lua script: every message gets the next sequence number as its entry id, `0-<seq>`. */
const SEND = `
local S, M = KEYS[1], KEYS[2]
if redis.call('HEXISTS', M, 'end') == 1 then return 'closed' end
local seq = redis.call('HINCRBY', M, 'seq', 1)
local cap = tonumber(ARGV[1])
if ARGV[2] == 'm' then
  redis.call('XADD', S, 'MAXLEN', cap, '0-' .. seq, 'p', ARGV[3])
else
  -- the end takes no message's place: kept beside the last capacity messages
  redis.call('XADD', S, 'MAXLEN', cap + 1, '0-' .. seq, 'end', ARGV[2], 'e', ARGV[3])
  redis.call('HSET', M, 'end', seq)
end
return 'ok'
`;
const SEND_SHA = createHash('sha1').update(SEND).digest('hex');

interface Channel<T> {
  readonly connection: RedisQueueConnection;
  readonly stream: string;
  readonly meta: string;
  readonly capacity: number;
  readonly lag: 'skip' | 'error';
  readonly onLag: ((skipped: number) => void) | undefined;
  readonly serializer: RedisQueueSerializer<T>;
  readonly blockTime: number;
}

function failure(where: string, error: unknown): Error {
  return new RedisCommandError(where, error);
}

async function append<T>(
  channel: Channel<T>,
  kind: 'm' | 'c' | 'e',
  text: string,
): Promise<'ok' | 'closed'> {
  const args = [2, channel.stream, channel.meta, channel.capacity, kind, text];
  try {
    try {
      return (await channel.connection.call('EVALSHA', [SEND_SHA, ...args])) as 'ok' | 'closed';
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return (await channel.connection.call('EVAL', [SEND, ...args])) as 'ok' | 'closed';
    }
  } catch (error) {
    throw failure(`${NAME}.send`, error);
  }
}

type RawEntry = [string, string[]];

/** The entries of a one-stream XREAD reply (RESP2 `[[key, entries]]` or a flattened map). */
function entriesOf(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as unknown;
  if (typeof first === 'string') return (reply[1] as RawEntry[] | undefined) ?? [];
  return ((first as [string, RawEntry[]])[1] as RawEntry[] | undefined) ?? [];
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * One receiver: its own cursor (the sequence number it read last) and, while it reads, a
 * blocking connection of its own. Joins at the tail: the sequence number when it opened, read
 * on the channel's connection, so a later `send` on that connection is never missed.
 */
function openReceiver<T>(channel: Channel<T>, sink: Sink<T>, counted: { lagged: number }): Demand {
  let demand = 0;
  let done = false;
  let cursor = -1;
  let reading = false;
  /** Saw an unread message while nobody asked for one: wait for demand. */
  let parked = false;
  let conn: RedisQueueConnection | undefined;
  const where = `${NAME}.receive`;

  const end = (finish: () => void) => {
    if (done) return;
    done = true;
    conn?.disconnect();
    conn = undefined;
    finish();
  };
  const read = async () => {
    reading = true;
    try {
      while (!done && !(parked && demand === 0)) {
        parked = false;
        conn ??= channel.connection.duplicate();
        // Nobody asked: look for the end only (complete needs no demand). A message such a
        // look finds is not delivered even if demand came meanwhile: it is read again, so a
        // receiver reads (and counts what it missed) as of the request, not of the look.
        const peek = demand === 0;
        const count = peek ? 1 : Math.min(demand, 256);
        const reply = await conn.call('XREAD', [
          'COUNT',
          count,
          'BLOCK',
          channel.blockTime,
          'STREAMS',
          channel.stream,
          `0-${cursor}`,
        ]);
        for (const [id, fields] of entriesOf(reply)) {
          if (done) return;
          const seq = Number(id.slice(2));
          const over = field(fields, 'end');
          if (over === undefined && (peek || demand === 0)) {
            parked = demand === 0;
            break;
          }
          const skipped = seq - cursor - 1;
          if (skipped > 0) {
            counted.lagged += skipped;
            if (channel.lag === 'error') {
              cursor = seq - 1;
              end(() => sink.error(new LaggedError(skipped)));
              return;
            }
            try {
              channel.onLag?.(skipped);
            } catch (error) {
              end(() => sink.error(error));
              return;
            }
          }
          cursor = seq;
          if (over !== undefined) {
            const error = over === 'e' ? decodeError(field(fields, 'e')) : undefined;
            end(() => (over === 'e' ? sink.error(error) : sink.complete()));
            return;
          }
          let value: T;
          try {
            value = channel.serializer.deserialize(field(fields, 'p') ?? '');
          } catch (error) {
            const detail = error instanceof Error ? error.message : String(error);
            end(() =>
              sink.error(
                new TypeError(
                  `${where}: message ${seq} has a payload the serializer cannot read (${detail})`,
                ),
              ),
            );
            return;
          }
          demand--;
          sink.next(value);
        }
      }
    } catch (error) {
      if (!done) end(() => sink.error(failure(where, error)));
    } finally {
      reading = false;
    }
  };
  const kick = () => {
    if (!done && !reading && cursor >= 0) void read();
  };
  channel.connection.call('HMGET', [channel.meta, 'seq', 'end']).then(
    (reply) => {
      const [seq, over] = reply as [string | null, string | null];
      if (done) return;
      if (over !== null) {
        end(() => sink.complete());
        return;
      }
      cursor = Number(seq ?? 0);
      kick();
    },
    (error: unknown) => end(() => sink.error(failure(where, error))),
  );
  return {
    request: (n: number) => {
      if (done) return;
      demand += n;
      kick();
    },
    cancel: () => end(() => {}),
  };
}

class Sender<T> implements RedisBroadcastSender<T> {
  private open = true;
  private ending: Promise<void> | undefined;
  private problem: { error: unknown } | undefined;

  constructor(private readonly channel: Channel<T>) {}

  get isClosed(): boolean {
    return !this.open;
  }

  send(value: T): Promise<void> {
    if (!this.open) {
      return Promise.reject(new ChannelClosedError(`${NAME}: the channel is closed`, value));
    }
    let text: string;
    try {
      text = serializeOrThrow(`${NAME}.send`, this.channel.serializer, value);
    } catch (error) {
      return Promise.reject(error);
    }
    return append(this.channel, 'm', text).then((result) => {
      if (result === 'closed') {
        this.open = false;
        throw new ChannelClosedError(`${NAME}: the channel is closed`, value);
      }
    });
  }

  next = (value: T): void => {
    this.send(value).catch((error: unknown) => {
      this.problem ??= { error };
    });
  };

  error = (err: unknown): void => {
    void this.finish('e', encodeError(err)).catch((error: unknown) => {
      this.problem ??= { error };
    });
  };

  complete = (): void => {
    void this.close().catch(() => {});
  };

  close(): Promise<void> {
    return this.finish('c', '').then(() => {
      if (this.problem) throw this.problem.error;
    });
  }

  private finish(kind: 'c' | 'e', text: string): Promise<void> {
    this.open = false;
    this.ending ??= append(this.channel, kind, text).then(() => {});
    return this.ending;
  }
}

class Receiver<T> extends PullObservable<T> implements RedisBroadcastReceiver<T> {
  private readonly counted: { lagged: number };

  constructor(channel: Channel<T>) {
    const counted = { lagged: 0 };
    super((sink: Sink<T>) => openReceiver(channel, sink, counted));
    this.counted = counted;
  }

  get lagged(): number {
    return this.counted.lagged;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new PullIterator<T>(this);
  }
}

const REDIS_BROADCAST_OPTIONS = optionNames<RedisBroadcastOptions<unknown>>()({
  connection: 1,
  name: 1,
  capacity: 1,
  prefix: 1,
  lag: 1,
  onLag: 1,
  serializer: 1,
  blockTime: 1,
});

/**
 * A broadcast channel across processes, on one Redis Stream: every receiver, in any process,
 * gets every message sent after it joined, and one that falls more than `capacity` behind is
 * told exactly how many it missed (`broadcast`'s semantics, tokio's `broadcast`).
 *
 * ```text
 * process A  tx.send:   1  2  3  4  5  close        capacity 2
 * process B  subscribe: 1  2  3  4  5  |            (a plain subscriber keeps up)
 * process C  for await: 1 .......... 4  5  |        (paused: 2, 3 trimmed away;
 *                                                    onLag(2), reads on at 4)
 * process D  joins after 3:          4  5  |        (starts at the tail)
 * ```
 *
 * Each message gets the next number of a counter as its stream entry id (`0-<n>`), and the
 * stream is trimmed to exactly `capacity` entries on every send. Each receiver keeps its own
 * cursor (the number it read last) in its own process and reads with a blocking `XREAD` from
 * it on a connection of its own. A receiver whose next entry is gone finds the first kept
 * entry's number more than one past its cursor: the difference is exactly what it missed.
 * Nothing is stored per receiver in Redis, so receivers come and go freely, and Redis holds
 * `capacity` messages whatever their number. Keys: `<prefix>{<name>}:b` (the stream) and
 * `<prefix>{<name>}:bm` (the counter and the end).
 *
 * **Backpressure.** Sending never waits for receivers. A receiver read by a sluice consumer
 * (`workerPool`, `for await`) reads only what it is asked for; a plain subscriber asks for
 * everything, and so keeps up unless its process cannot. Redis keeps `capacity` messages.
 *
 * **Errors.** A receiver that lagged under `lag: 'error'` fails with `LaggedError`; a failure
 * of Redis fails the receivers reading through it (with the client's error as `cause`) and
 * rejects `send`. `tx.error(err)` ends every receiver with (a copy of) `err`, after what was
 * sent before it.
 *
 * **Cancellation.** Unsubscribing (or `break`) ends that receiver and closes its blocking
 * connection; `tx.close()` ends every receiver after what was sent before it, and refuses
 * later sends from any process. A receiver opened after the end completes at once.
 *
 * **Differences from `broadcast`.** `send` is asynchronous and returns no receiver count
 * (receivers in other processes are not counted); receivers have no `recv()` cursor of the
 * handle itself (use `for await` or `firstValueFrom`); plain subscribers read from Redis like
 * every receiver, so a process too slow to keep up lags too; the channel ends with the first
 * `close()` of any sender, not the last; and the end stays in Redis until the keys are deleted.
 *
 * @example
 * ```typescript redis
 * import assert from 'node:assert/strict';
 * import { Redis } from 'ioredis';
 * import { firstValueFrom, toArray } from 'rxjs';
 * import { redisBroadcast } from 'sluice/redis';
 *
 * const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const [tx, rx] = redisBroadcast<string>({ connection, name: 'deploys', capacity: 100 });
 * const first = firstValueFrom(rx.pipe(toArray())); // a receiver: joins now
 * const second = firstValueFrom(rx.pipe(toArray())); // another one
 * await tx.send('build 41 deployed');
 * await tx.send('build 42 deployed');
 * await tx.close(); // both read what was sent, then complete
 * assert.deepEqual(await first, ['build 41 deployed', 'build 42 deployed']);
 * assert.deepEqual(await second, ['build 41 deployed', 'build 42 deployed']);
 * connection.disconnect();
 * ```
 *
 * @param options `connection`, `name`, `capacity` (required); `prefix`, `lag`, `onLag`,
 *   `serializer`, `blockTime`.
 * @returns `[tx, rx]`: a sender and a receiver of the channel. Call again (in this process or
 *   another) for more; they share the channel by name.
 * @throws TypeError or RangeError for a bad option, naming it. Nothing is sent to Redis until
 *   the first send or receiver.
 */
export function redisBroadcast<T>(
  options: RedisBroadcastOptions<T>,
): [tx: RedisBroadcastSender<T>, rx: RedisBroadcastReceiver<T>] {
  const opts = checkOptions<RedisBroadcastOptions<T>>(NAME, options, REDIS_BROADCAST_OPTIONS);
  const connection = checkConnection(NAME, opts.connection);
  for (const [key, value, empty] of [
    ['name', opts.name, false],
    ['prefix', opts.prefix ?? 'sluice:', true],
  ] as const) {
    if (typeof value !== 'string' || (!empty && value === '') || /[{}]/.test(value)) {
      throw new TypeError(
        `${NAME}: ${key} must be a ${empty ? '' : 'non-empty '}string without braces, got ${describe(value)}`,
      );
    }
  }
  const capacity = checkCapacity(NAME, 'capacity', opts.capacity, false);
  const serializer = checkSerializer<T>(NAME, opts.serializer);
  const base = `${opts.prefix ?? 'sluice:'}{${opts.name}}`;
  const channel: Channel<T> = {
    connection,
    stream: `${base}:b`,
    meta: `${base}:bm`,
    capacity,
    lag: opts.lag === undefined ? 'skip' : checkOneOf(NAME, 'lag', opts.lag, ['skip', 'error']),
    onLag: checkFunction<(skipped: number) => void>(NAME, 'onLag', opts.onLag, true),
    serializer,
    blockTime:
      opts.blockTime === undefined ? 1_000 : checkInteger(NAME, 'blockTime', opts.blockTime, 1),
  };
  return [new Sender(channel), new Receiver(channel)];
}
