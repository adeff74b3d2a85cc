/**
 * What both queue stores, `MessageQueue` and `sluice/redis`'s `RedisQueue`, share: one set of
 * defaults, one check of the settings they have in common, one id check, one reading of
 * `close()`'s options, and the `consume`/`consumeBatch` they build on `consumeQueue`.
 *
 * sluice/redis bundles its own copy of this module (it imports the core only through
 * 'sluice'), so it holds no class and no state, and imports nothing at run time but the
 * stateless internals: the error class for a long id and the consumers come in as arguments.
 * @module
 */
import type { Observable, SchedulerLike } from 'rxjs';
import { DEFAULT_MAX_ID_LENGTH, DEFAULT_MAX_PAYLOAD_BYTES } from '../internal/sizes.js';
import {
  checkCapacity,
  checkDuration,
  checkFunction,
  checkOptions,
  describe,
} from '../internal/validate.js';
import type { ConsumeOptions, ConsumeOutcome, consumeQueue, MessageHandler } from './consume.js';
import type { BatchHandler, ConsumeBatchOptions, consumeQueueBatch } from './consumeQueueBatch.js';
import type { MessageTooLargeError } from './messageTooLargeError.js';
import { CLOSE_OPTIONS, CONSUME_OPTIONS, DEAD_LETTER_OPTIONS } from './optionNames.js';
import type { QueueStore } from './store.js';
import type { CloseOptions, DeadLetterOptions, QueueDeadLetter } from './types.js';

/** The defaults of both stores' options. */
export const QUEUE_DEFAULTS = Object.freeze({
  visibilityTimeout: 30_000,
  maxAttempts: 5,
  capacity: 10_000,
  dedupWindow: 300_000,
  deadLetterCapacity: 10_000,
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxIdLength: DEFAULT_MAX_ID_LENGTH,
});

/** The options both stores take, as given. */
export interface CommonQueueOptions<T> {
  readonly visibilityTimeout?: number;
  readonly maxAttempts?: number;
  readonly dedupWindow?: number;
  readonly deadLetter?: DeadLetterOptions<T>;
  readonly maxPayloadBytes?: number;
  readonly maxIdLength?: number;
}

/** The settings both stores share, checked, defaults applied. */
export interface CommonQueueSettings<T> {
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly dedupWindow: number;
  readonly deadCapacity: number;
  readonly onEvict: ((letter: QueueDeadLetter<T>) => void) | undefined;
  readonly maxPayloadBytes: number;
  readonly maxIdLength: number;
}

/**
 * Checks the options both stores take (`where` is the store's name), throwing a
 * `TypeError`/`RangeError` that names the first bad one, and applies `QUEUE_DEFAULTS`.
 */
export function commonQueueSettings<T>(
  where: string,
  opts: CommonQueueOptions<T>,
): CommonQueueSettings<T> {
  const d = QUEUE_DEFAULTS;
  const visibilityTimeout =
    opts.visibilityTimeout === undefined
      ? d.visibilityTimeout
      : checkDuration(where, 'visibilityTimeout', opts.visibilityTimeout, true);
  const maxAttempts =
    opts.maxAttempts === undefined
      ? d.maxAttempts
      : checkCapacity(where, 'maxAttempts', opts.maxAttempts, true);
  const dedupWindow =
    opts.dedupWindow === undefined
      ? d.dedupWindow
      : checkDuration(where, 'dedupWindow', opts.dedupWindow, true);
  const dead = checkOptions<DeadLetterOptions<T>>(
    `${where}: deadLetter`,
    opts.deadLetter,
    DEAD_LETTER_OPTIONS,
  );
  const deadCapacity =
    dead.capacity === undefined
      ? d.deadLetterCapacity
      : checkCapacity(where, 'deadLetter.capacity', dead.capacity, true);
  const onEvict = checkFunction<(letter: QueueDeadLetter<T>) => void>(
    where,
    'deadLetter.onEvict',
    dead.onEvict,
    true,
  );
  const maxPayloadBytes =
    opts.maxPayloadBytes === undefined
      ? d.maxPayloadBytes
      : checkCapacity(where, 'maxPayloadBytes', opts.maxPayloadBytes, true);
  const maxIdLength =
    opts.maxIdLength === undefined
      ? d.maxIdLength
      : checkCapacity(where, 'maxIdLength', opts.maxIdLength, true);
  return {
    visibilityTimeout,
    maxAttempts,
    dedupWindow,
    deadCapacity,
    onEvict,
    maxPayloadBytes,
    maxIdLength,
  };
}

/**
 * A caller's message id: `undefined` (none given), or a non-empty string of at most
 * `maxIdLength` characters. A longer one is refused with `tooLarge` (the store's
 * `MessageTooLargeError`: the core's class, which sluice/redis reaches through 'sluice').
 */
export function checkMessageId(
  where: string,
  given: unknown,
  maxIdLength: number,
  tooLarge: typeof MessageTooLargeError,
): string | undefined {
  if (given === undefined) return undefined;
  if (typeof given !== 'string' || given.length === 0) {
    throw new TypeError(`${where}: id must be a non-empty string, got ${describe(given)}`);
  }
  if (given.length > maxIdLength) {
    throw new tooLarge(where, 'maxIdLength', given.length, maxIdLength);
  }
  return given;
}

/** The `ids` of `redrive`/`purgeDeadLetters`: undefined (all), or an iterable of ids, copied. */
export function checkIdList(where: string, ids: unknown): string[] | undefined {
  if (ids === undefined) return undefined;
  if (
    ids === null ||
    typeof ids !== 'object' ||
    typeof (ids as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${where}: ids must be an iterable of ids, got ${describe(ids)}`);
  }
  const list = Array.from(ids as Iterable<unknown>);
  for (const id of list) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`${where}: id must be a non-empty string, got ${describe(id)}`);
    }
  }
  return list as string[];
}

/** The grace period `close(options)` gives leases, in ms (0 when none is given). */
export function closeGrace(where: string, options: unknown): number {
  const opts = checkOptions<CloseOptions>(where, options, CLOSE_OPTIONS);
  return opts.grace === undefined ? 0 : checkDuration(where, 'grace', opts.grace, true);
}

/** The consumers, passed in so that sluice/redis uses the core's own (through 'sluice'). */
export interface QueueConsumers {
  readonly consumeQueue: typeof consumeQueue;
  readonly consumeQueueBatch: typeof consumeQueueBatch;
}

/** `store.consume(handler, options)`: `consumeQueue` with the store's scheduler by default. */
export function consumeStore<T>(
  consumers: QueueConsumers,
  where: string,
  store: QueueStore<T> & { readonly scheduler: SchedulerLike },
  handler: MessageHandler<T>,
  options: ConsumeOptions<T> | undefined,
): Observable<ConsumeOutcome<T>> {
  const opts = checkOptions<ConsumeOptions<T>>(`${where}.consume`, options, CONSUME_OPTIONS);
  return consumers.consumeQueue(store, handler, {
    ...opts,
    scheduler: opts.scheduler ?? store.scheduler,
  });
}

/** `store.consumeBatch(handler, options)`: `consumeQueueBatch` with the store's scheduler by default. */
export function consumeStoreBatch<T>(
  consumers: QueueConsumers,
  where: string,
  store: QueueStore<T> & { readonly scheduler: SchedulerLike },
  handler: BatchHandler<T>,
  options: ConsumeBatchOptions<T>,
): Observable<ConsumeOutcome<T>> {
  const opts = checkOptions<ConsumeBatchOptions<T>>(`${where}.consumeBatch`, options);
  return consumers.consumeQueueBatch(store, handler, {
    ...opts,
    scheduler: opts.scheduler ?? store.scheduler,
  } as ConsumeBatchOptions<T>);
}
