/**
 * The decoders of the queue's script replies: each well-formed reply becomes its typed value;
 * any other shape rejects the call with a RedisCommandError that names the script and the
 * place, and never shows the reply's content (it may hold a payload). No Redis needed: a
 * stub connection answers for the server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RedisCommandError, RedisQueue } from '../../src/redis/index.js';
import { decodeEntries, decodeReply, decodeStreamRead } from '../../src/redis/replies.js';
import { scripts } from '../../src/redis/scripts.js';

const PAYLOAD = 'card-4111111111111111';
const NAMES = Object.keys(scripts) as Array<keyof typeof scripts>;

function malformed(run: () => unknown): RedisCommandError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RedisCommandError);
    return error as RedisCommandError;
  }
  throw new Error('expected a RedisCommandError');
}

describe('decodeReply', () => {
  it('decodes each script reply and takes the evicted dead letters off', () => {
    const evicted = [['i', 'a', 'p', '"x"']];
    expect(
      decodeReply('enqueue', 'Q.enqueue', [
        [
          ['ok', 'a'],
          ['full', ''],
        ],
        evicted,
      ]),
    ).toEqual({
      result: [
        ['ok', 'a'],
        ['full', ''],
      ],
      evicted,
    });
    // deliveries: flat, three items each (id, payload, "<attempt>:<receipt>"), one deadline
    expect(
      decodeReply('receive', 'Q.receive', [
        1000,
        -1,
        '',
        ['a', '"p"', '1:1:1:n:Q', 'b', '"q"', '2:7:2:m:Q'],
        -1,
        [],
      ]).result,
    ).toEqual({
      now: 1000,
      nextDue: -1,
      lastId: '',
      deliveries: [
        {
          id: 'a',
          text: '"p"',
          attempt: 1,
          receipt: '1:1:n:Q',
          deadline: Number.POSITIVE_INFINITY,
        },
        {
          id: 'b',
          text: '"q"',
          attempt: 2,
          receipt: '7:2:m:Q',
          deadline: Number.POSITIVE_INFINITY,
        },
      ],
    });
    // results: one string, separated by spaces
    expect(decodeReply('ack', 'Q.ack', ['ok stale', [], 1000, 3, -1, []]).result).toEqual({
      results: ['ok', 'stale'],
      deliveries: [],
      now: 1000,
      leases: 3,
    });
    expect(
      decodeReply('ack', 'Q.ack', ['ok', ['a', '"p"', '1:r', 'b', '', '3:s'], 1000, 1, '1500', []])
        .result.deliveries,
    ).toEqual([
      { id: 'a', text: '"p"', attempt: 1, receipt: 'r', deadline: 1500 },
      { id: 'b', text: '', attempt: 3, receipt: 's', deadline: 1500 },
    ]);
    expect(decodeReply('nack', 'Q.nack', ['dead', []]).result).toBe('dead');
    expect(decodeReply('release', 'Q.release', ['ok', []]).result).toBe('ok');
    expect(decodeReply('poison', 'Q.receive', ['unknown', []]).result).toBe('unknown');
    expect(decodeReply('extend', 'Q.extend', ['ok', 2500, []]).result).toEqual({
      result: 'ok',
      deadline: 2500,
    });
    expect(decodeReply('extend', 'Q.extend', ['expired', -1, []]).result).toEqual({
      result: 'expired',
      deadline: Number.POSITIVE_INFINITY,
    });
    expect(
      decodeReply('stats', 'Q.stats', [3, 1, 0, 2, ['acked', '7', 'seq', '9'], []]).result,
    ).toEqual({
      visible: 3,
      inFlight: 1,
      delayed: 0,
      dead: 2,
      enqueued: 0,
      duplicates: 0,
      dropped: 0,
      delivered: 0,
      acked: 7,
      nacked: 0,
      expired: 0,
      released: 0,
      deadLettered: 0,
      redriven: 0,
      deadEvicted: 0,
    });
    expect(
      decodeReply('redrive', 'Q.redrive', [['a'], [['b', 'live']], 'again', []]).result,
    ).toEqual({
      redriven: ['a'],
      skipped: [['b', 'live']],
      next: 'again',
    });
    expect(decodeReply('purge', 'Q.purge', [[['i', 'a']], '', []]).result).toEqual({
      purged: [['i', 'a']],
      next: '',
    });
    expect(decodeReply('settings', 'Q', [['capacity', '10'], []]).result).toEqual([
      'capacity',
      '10',
    ]);
  });

  it('refuses a reply of the wrong shape with a RedisCommandError naming the script and the place', () => {
    const error = malformed(() =>
      decodeReply('receive', 'RedisQueue.receive', [1, -1, '', ['a', PAYLOAD, PAYLOAD], -1, []]),
    );
    expect(error.operation).toBe('RedisQueue.receive');
    expect(error.message).toBe(
      'RedisQueue.receive: the Redis call failed: the receive script answered a malformed ' +
        'reply: deliveries[0].receipt should be a string "<attempt>:<receipt>", got a string ' +
        `of ${PAYLOAD.length} characters`,
    );
    expect(error.message).not.toContain(PAYLOAD);
    expect(
      malformed(() => decodeReply('receive', 'RedisQueue.receive', [1, -1, '', [PAYLOAD], -1, []]))
        .message,
    ).toContain('deliveries should be three items per delivery, got an array of 1');
    expect(
      malformed(() => decodeReply('ack', 'RedisQueue.ack', ['ok', ['a', 1, '1:r'], 1, 1, -1, []]))
        .message,
    ).toContain('deliveries[0].payload should be a string, got number');
    expect(
      malformed(() => decodeReply('ack', 'RedisQueue.ack', [['ok'], [], 1, 1, -1, []])).message,
    ).toContain('results should be a string, got an array of 1');
    expect(malformed(() => decodeReply('ack', 'RedisQueue.ack', 'OK')).message).toContain(
      'the reply should be an array of 6, got a string of 2 characters',
    );
    expect(
      malformed(() => decodeReply('enqueue', 'RedisQueue.enqueue', [[['maybe', 'a']], []])).message,
    ).toContain('results[0][0] should be an enqueue outcome');
    expect(
      malformed(() => decodeReply('nack', 'RedisQueue.nack', ['ok', [['odd']]])).message,
    ).toContain('evicted[0] should be name, value pairs');
    expect(
      malformed(() => decodeReply('stats', 'RedisQueue.stats', ['x', 0, 0, 0, [], []])).message,
    ).toContain('visible should be a number');
  });

  it('for any value: a typed result or a RedisCommandError, never another exception', () => {
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), fc.anything(), (name, reply) => {
        try {
          decodeReply(name, 'RedisQueue.call', reply);
        } catch (error) {
          expect(error).toBeInstanceOf(RedisCommandError);
        }
      }),
    );
  });

  it('never shows a string of the reply in its error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NAMES),
        fc.array(fc.constant(PAYLOAD), { maxLength: 7 }),
        (name, reply) => {
          try {
            decodeReply(name, 'RedisQueue.call', reply);
          } catch (error) {
            expect(String((error as Error).message)).not.toContain(PAYLOAD);
          }
        },
      ),
    );
  });
});

describe('stream replies', () => {
  it('reads XRANGE entries and both XREAD shapes (RESP2 and a flattened RESP3 map)', () => {
    const entries = [['1-0', ['i', 'a']]];
    expect(decodeEntries('Q', null)).toEqual([]);
    expect(decodeEntries('Q', entries)).toEqual(entries);
    expect(decodeStreamRead('Q', null)).toEqual([]);
    expect(decodeStreamRead('Q', [['key', entries]])).toEqual(entries);
    expect(decodeStreamRead('Q', ['key', entries])).toEqual(entries);
  });

  it('refuses anything else', () => {
    expect(malformed(() => decodeEntries('Q.deadLetters', [['1-0']])).message).toContain(
      'entry[0] should be an array of 2',
    );
    expect(malformed(() => decodeStreamRead('Q.deadLettered', 'OK')).message).toContain(
      'the reply should be an array',
    );
  });
});

describe('a queue whose server answers a malformed reply', () => {
  it('rejects the call with RedisCommandError naming it; the next well-formed reply is used', async () => {
    const stored = ['capacity', '10000', 'maxAttempts', '5', 'dedupWindow', '300000'];
    let settings: unknown = 'OK';
    let stats: unknown = [1, 0, 0, 0, ['acked'], []];
    const connection = {
      call: async (command: string, args: Array<string | number>) => {
        expect(command).toBe('EVALSHA');
        return args[0] === scripts.settings.sha ? settings : stats;
      },
      duplicate: () => connection,
      disconnect: () => {},
    };
    const queue = new RedisQueue<string>({ connection, name: 'malformed', clock: 'scheduler' });
    const first = await queue.stats().catch((error: unknown) => error);
    expect(first).toBeInstanceOf(RedisCommandError);
    expect((first as RedisCommandError).operation).toBe('RedisQueue');
    settings = [[...stored, 'deadLetter.capacity', '10000'], []];
    const second = await queue.stats().catch((error: unknown) => error);
    expect(second).toBeInstanceOf(RedisCommandError);
    expect((second as RedisCommandError).operation).toBe('RedisQueue.stats');
    expect((second as Error).message).toContain('counters should be name, value pairs');
    stats = [1, 0, 0, 0, ['acked', '4'], []];
    expect(await queue.stats()).toMatchObject({ visible: 1, acked: 4 });
    await queue.close();
  });
});
