/**
 * `CallBatch`: the calls of one turn go out together, each answered with its own result; with
 * `halves`, a large turn goes out as two batches sent one after the other.
 */
import { describe, expect, it } from 'vitest';
import { CallBatch } from '../../src/redis/batch.js';

/** A batch whose flushes are recorded and answered with the arguments doubled. */
function recorded(options: ConstructorParameters<typeof CallBatch<number, number>>[1]) {
  const flushes: number[][] = [];
  const batch = new CallBatch<number, number>(async (args) => {
    flushes.push(args);
    return args.map((n) => n * 2);
  }, options);
  return { batch, flushes };
}

describe('CallBatch', () => {
  it('sends the calls of one turn as one batch and answers each in order', async () => {
    const { batch, flushes } = recorded(256);
    const results = await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    expect(results).toEqual([2, 4, 6]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });

  it('a full batch goes out at once', async () => {
    const { batch, flushes } = recorded({ max: 4, halves: 8 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => batch.add(n)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, n) => n * 2));
    expect(flushes.map((f) => f.length)).toEqual([4, 4, 2]);
  });

  it('halves: a turn of at least twice `halves` calls goes out as two batches, in order', async () => {
    const { batch, flushes } = recorded({ max: 256, halves: 8 });
    const results = await Promise.all(Array.from({ length: 17 }, (_, n) => batch.add(n)));
    expect(results).toEqual(Array.from({ length: 17 }, (_, n) => n * 2));
    expect(flushes).toEqual([
      Array.from({ length: 9 }, (_, n) => n),
      Array.from({ length: 8 }, (_, n) => n + 9),
    ]);
    flushes.length = 0;
    await Promise.all(Array.from({ length: 15 }, (_, n) => batch.add(n)));
    expect(flushes.map((f) => f.length)).toEqual([15]);
  });

  it('cutting(false) sends a large turn whole, cutting(true) cuts again', async () => {
    const { batch, flushes } = recorded({ max: 256, halves: 8 });
    batch.cutting(false);
    await Promise.all(Array.from({ length: 16 }, (_, n) => batch.add(n)));
    expect(flushes.map((f) => f.length)).toEqual([16]);
    batch.cutting(true);
    await Promise.all(Array.from({ length: 16 }, (_, n) => batch.add(n)));
    expect(flushes.map((f) => f.length)).toEqual([16, 8, 8]);
  });

  it('a failed flush rejects every call of its batch, and only those', async () => {
    let calls = 0;
    const batch = new CallBatch<number, number>(
      async (args) => {
        if (++calls === 1) throw new Error('down');
        return args;
      },
      { max: 256, halves: 2 },
    );
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => batch.add(n)));
    expect(settled.map((s) => s.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
  });
});
