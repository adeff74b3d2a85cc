import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unwrapHeaders, wrapHeaders } from '../../src/redis/headers.js';
import { RedisQueue } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from './redisServer.js';

describe('RedisQueue headers in the stored payload field', () => {
  it('round-trips any payload text with any headers, and leaves a text without headers as it is', () => {
    const headers = fc.option(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), {
      nil: undefined,
    });
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), headers, (text, given) => {
        const stored = wrapHeaders(text, given);
        if (given === undefined && !text.startsWith('\u0001')) expect(stored).toBe(text);
        const back = unwrapHeaders(stored);
        expect(back.text).toBe(text);
        const expected = given === undefined || Object.keys(given).length === 0 ? undefined : given;
        expect(back.headers).toEqual(expected);
      }),
    );
  });

  it('refuses a malformed stored text, saying what is wrong', () => {
    expect(() => unwrapHeaders('\u0001{"a":"b"}')).toThrow(/no end/);
    expect(() => unwrapHeaders('\u0001[1]\nx')).toThrow(/not a JSON object/);
    expect(() => unwrapHeaders('\u0001{"a":1}\nx')).toThrow(/header "a" is not a string/);
    expect(() => unwrapHeaders('\u0001{\nx')).toThrow(SyntaxError);
  });
});

describeRedis('RedisQueue headers', () => {
  const redis = useRedisServer();

  it('a serializer whose text starts like stored headers still round-trips', async () => {
    const connection = redis.connect();
    const queue = new RedisQueue<string>({
      connection,
      name: 'headers-raw',
      serializer: { serialize: (s) => s, deserialize: (t) => t },
    });
    try {
      await queue.enqueue('\u0001{"x":"y"}\nnot headers');
      await queue.enqueue('\u0001plain', { headers: { a: 'b' } });
      const [first, second] = await queue.receive({ max: 2 });
      expect(first?.payload).toBe('\u0001{"x":"y"}\nnot headers');
      expect(first).not.toHaveProperty('headers');
      expect(second?.payload).toBe('\u0001plain');
      expect(second?.headers).toEqual({ a: 'b' });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
