/**
 * Type-level tests of `RedisQueueOptions.overflow`: the Redis queue offers `'block'`,
 * `'error'` and `'drop'`, and `'replace'` is a compile error (checked by `npm run typecheck`;
 * the refused calls sit in a function that is never called). At run time the constructor
 * refuses `'replace'` too, for callers without the types.
 */
import type { OverflowPolicy } from 'sluice';
import { RedisQueue, type RedisQueueConnection, type RedisQueueOptions } from 'sluice/redis';
import { describe, expect, expectTypeOf, it } from 'vitest';

const connection: RedisQueueConnection = {
  call: async () => null,
  duplicate: () => connection,
  disconnect: () => {},
};

describe('RedisQueue overflow: every policy but replace', () => {
  it('is exactly block, error or drop', () => {
    expectTypeOf<RedisQueueOptions<string>['overflow']>().toEqualTypeOf<
      'block' | 'error' | 'drop' | undefined
    >();
    expectTypeOf<
      NonNullable<RedisQueueOptions<string>['overflow']>
    >().toMatchTypeOf<OverflowPolicy>();
  });

  it('accepts the three it offers', () => {
    expectTypeOf(RedisQueue<string>).toBeConstructibleWith({
      connection,
      name: 'q',
      overflow: 'block',
    });
    expectTypeOf(RedisQueue<string>).toBeConstructibleWith({
      connection,
      name: 'q',
      overflow: 'error',
    });
    expectTypeOf(RedisQueue<string>).toBeConstructibleWith({
      connection,
      name: 'q',
      overflow: 'drop',
    });
  });

  it("makes 'replace' a compile error, and the constructor refuses it at run time as well", () => {
    const refused = () => [
      // @ts-expect-error a Redis queue never evicts another message to make room
      new RedisQueue<string>({ connection, name: 'q', overflow: 'replace' }),
      // @ts-expect-error nor through a variable typed as any overflow policy
      new RedisQueue<string>({ connection, name: 'q', overflow: 'replace' as OverflowPolicy }),
    ];
    expectTypeOf(refused).toBeFunction();
    const options: Record<string, unknown> = { connection, name: 'q', overflow: 'replace' };
    expect(() => new RedisQueue<string>(options as unknown as RedisQueueOptions<string>)).toThrow(
      "RedisQueue: overflow must be one of 'block', 'error', 'drop', got \"replace\"",
    );
  });
});
