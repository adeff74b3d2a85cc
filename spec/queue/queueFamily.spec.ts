/**
 * The parts both queue stores share (src/queue/queueFamily.ts): one set of defaults, one id
 * check, one reading of close()'s options, one consume. Each is checked on its own and through
 * both stores, which must answer alike (a stub connection stands in for Redis: nothing here
 * reaches the server).
 */
import fc from 'fast-check';
import { MessageQueue, MessageTooLargeError } from 'sluice';
import { describe, expect, it } from 'vitest';
import {
  checkIdList,
  checkMessageId,
  closeGrace,
  commonQueueSettings,
  QUEUE_DEFAULTS,
} from '../../src/queue/queueFamily.js';
import { RedisQueue, type RedisQueueConnection } from '../../src/redis/index.js';

const connection: RedisQueueConnection = {
  call: () => new Promise<never>(() => {}),
  duplicate: () => connection,
  disconnect: () => {},
};

describe('one set of defaults', () => {
  it('is what both stores use when no option is given', async () => {
    const memory = new MessageQueue<string>();
    const redis = new RedisQueue<string>({ connection, name: 'defaults' });
    for (const queue of [memory, redis]) {
      expect(queue.visibilityTimeout).toBe(QUEUE_DEFAULTS.visibilityTimeout);
      expect(queue.maxAttempts).toBe(QUEUE_DEFAULTS.maxAttempts);
      expect(queue.capacity).toBe(QUEUE_DEFAULTS.capacity);
    }
    expect(memory.maxIdLength).toBe(QUEUE_DEFAULTS.maxIdLength);
    expect(memory.maxPayloadBytes).toBe(QUEUE_DEFAULTS.maxPayloadBytes);
    expect(commonQueueSettings('Q', {})).toEqual({
      visibilityTimeout: 30_000,
      maxAttempts: 5,
      dedupWindow: 300_000,
      deadCapacity: 10_000,
      onEvict: undefined,
      maxPayloadBytes: 1_048_576,
      maxIdLength: 256,
    });
    await memory.close();
    await redis.close();
  });

  it('refuses the same bad settings in both stores, with the same words', () => {
    const bad = [
      { visibilityTimeout: -1 },
      { maxAttempts: 0 },
      { dedupWindow: Number.NaN },
      { deadLetter: { capacity: 1.5 } },
      { deadLetter: { onEvict: 'no' } },
      { deadLetter: { size: 1 } },
      { maxPayloadBytes: 0 },
      { maxIdLength: -3 },
    ] as const;
    for (const options of bad) {
      const memory = catchError(() => new MessageQueue(options as never));
      const redis = catchError(
        () => new RedisQueue({ connection, name: 'q', ...options } as never),
      );
      expect(memory).toBeInstanceOf(Error);
      expect(memory?.constructor).toBe(redis?.constructor);
      expect(redis?.message.replace('RedisQueue', 'MessageQueue')).toBe(memory?.message);
    }
  });
});

describe('one id check', () => {
  it('takes undefined or a non-empty string up to the limit, and nothing else', () => {
    expect(checkMessageId('Q.enqueue', undefined, 3, MessageTooLargeError)).toBeUndefined();
    expect(checkMessageId('Q.enqueue', 'abc', 3, MessageTooLargeError)).toBe('abc');
    expect(() => checkMessageId('Q.enqueue', '', 3, MessageTooLargeError)).toThrow(
      'Q.enqueue: id must be a non-empty string, got ""',
    );
    expect(() => checkMessageId('Q.enqueue', 7, 3, MessageTooLargeError)).toThrow(TypeError);
    const long = catchError(() => checkMessageId('Q.enqueue', 'abcd', 3, MessageTooLargeError));
    expect(long).toBeInstanceOf(MessageTooLargeError);
    expect(long?.message).toBe('Q.enqueue: id is 4 characters long, more than maxIdLength (3)');
  });

  it('for any value: the id itself, or a TypeError or MessageTooLargeError', () => {
    fc.assert(
      fc.property(fc.anything(), fc.integer({ min: 1, max: 20 }), (given, max) => {
        const error = catchError(() => {
          expect(checkMessageId('Q', given, max, MessageTooLargeError)).toBe(given);
        });
        if (error === undefined) return;
        if (typeof given === 'string' && given.length > max) {
          expect(error).toBeInstanceOf(MessageTooLargeError);
        } else expect(error).toBeInstanceOf(TypeError);
      }),
    );
  });

  it('answers alike in both stores: a malformed id is a TypeError, a long one the one MessageTooLargeError', async () => {
    const memory = new MessageQueue<string>({ maxIdLength: 4 });
    const redis = new RedisQueue<string>({ connection, name: 'ids', maxIdLength: 4 });
    expect(() => memory.enqueue('x', { id: '' })).toThrow(TypeError);
    await expect(redis.enqueue('x', { id: '' })).rejects.toThrow(
      'RedisQueue.enqueue: id must be a non-empty string, got ""',
    );
    expect(() => memory.enqueue('x', { id: 'abcde' })).toThrow(MessageTooLargeError);
    await expect(redis.send('x', { id: 'abcde' })).rejects.toBeInstanceOf(MessageTooLargeError);
    await memory.close();
    await redis.close();
  });

  it('checks id lists of redrive and purge: an iterable of non-empty strings, copied', () => {
    expect(checkIdList('Q.redrive', undefined)).toBeUndefined();
    expect(checkIdList('Q.redrive', new Set(['a', 'b']))).toEqual(['a', 'b']);
    expect(() => checkIdList('Q.redrive', 'ab')).toThrow(
      'Q.redrive: ids must be an iterable of ids, got "ab"',
    );
    expect(() => checkIdList('Q.purgeDeadLetters', ['a', ''])).toThrow(
      'Q.purgeDeadLetters: id must be a non-empty string, got ""',
    );
  });
});

describe("one reading of close()'s options", () => {
  it('is 0 by default, a duration or Infinity, and refuses anything else', async () => {
    expect(closeGrace('Q.close', undefined)).toBe(0);
    expect(closeGrace('Q.close', { grace: 250 })).toBe(250);
    expect(closeGrace('Q.close', { grace: Number.POSITIVE_INFINITY })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(() => closeGrace('Q.close', { grace: -1 })).toThrow(RangeError);
    expect(() => closeGrace('Q.close', { wait: 1 })).toThrow(/wait/);
    const memory = new MessageQueue<string>();
    const redis = new RedisQueue<string>({ connection, name: 'close' });
    await expect(memory.close({ grace: -1 })).rejects.toThrow('MessageQueue.close: grace');
    await expect(redis.close({ grace: -1 })).rejects.toThrow('RedisQueue.close: grace');
    expect(await memory.close()).toEqual({ released: 0 });
    expect(await redis.close()).toEqual({ released: 0 });
  });
});

describe('one consume', () => {
  it("refuses a misspelled option with the store's name in both stores", () => {
    const memory = new MessageQueue<string>();
    const redis = new RedisQueue<string>({ connection, name: 'consume' });
    const handler = async () => {};
    expect(() => memory.consume(handler, { concurency: 2 } as never)).toThrow(
      /^MessageQueue\.consume: /,
    );
    expect(() => redis.consume(handler, { concurency: 2 } as never)).toThrow(
      /^RedisQueue\.consume: /,
    );
    expect(() => memory.consumeBatch(handler, null as never)).toThrow(
      /^MessageQueue\.consumeBatch: /,
    );
    expect(() => redis.consumeBatch(handler, null as never)).toThrow(/^RedisQueue\.consumeBatch: /);
  });
});

function catchError(run: () => unknown): Error | undefined {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}
