/**
 * The deprecated names of renamed option types still compile and mean the same type as their
 * new names, so code written against them keeps working. Checked by the compiler
 * (`npm run typecheck`); the calls run too, proving the options are still taken.
 */
import { lastValueFrom, of, toArray } from 'rxjs';
import {
  type BatchConfig,
  type BatchOptions,
  batch,
  type RateLimitCommonOptions,
  type RateLimitConfig,
  type RateLimitOptions,
  rateLimit,
  type ShareBoundedConfig,
  type ShareBoundedOptions,
  shareBounded,
} from 'sluice';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('deprecated option type names', () => {
  it('BatchConfig is BatchOptions', async () => {
    expectTypeOf<BatchConfig<number>>().toEqualTypeOf<BatchOptions<number>>();
    const options: BatchConfig<number> = { size: 2, time: 10 };
    expect(await lastValueFrom(of(1, 2, 3).pipe(batch(options), toArray()))).toEqual([[1, 2], [3]]);
  });

  it('ShareBoundedConfig is ShareBoundedOptions', async () => {
    expectTypeOf<ShareBoundedConfig<number>>().toEqualTypeOf<ShareBoundedOptions<number>>();
    const options: ShareBoundedConfig<number> = { overflow: 'block' };
    expect(await lastValueFrom(of(1, 2).pipe(shareBounded(4, options), toArray()))).toEqual([1, 2]);
  });

  it('RateLimitConfig is RateLimitOptions, whose common part is RateLimitCommonOptions', async () => {
    expectTypeOf<RateLimitConfig<number>>().toEqualTypeOf<RateLimitOptions<number>>();
    expectTypeOf<RateLimitOptions<number>>().toMatchTypeOf<RateLimitCommonOptions<number>>();
    const options: RateLimitConfig<number> = { limit: 10, interval: 1000 };
    expect(await lastValueFrom(of(1, 2).pipe(rateLimit(options), toArray()))).toEqual([1, 2]);
  });
});
