import { lastValueFrom, map, type OperatorFunction, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { atLeastOnce, ChannelClosedError, idempotent, mpsc, workerPool } from '../../src/index.js';

/**
 * A pipeline whose last stage fails must not leave the producer waiting on the channel it
 * reads: the failure travels upstream, through every stage and through plain RxJS operators,
 * and closes the channel (tokio's dropped receiver): the waiting send rejects, carrying its
 * message and the failure as its cause.
 */
async function runToFailure(stages: OperatorFunction<number, unknown>) {
  const [tx, rx] = mpsc<number>(4);
  const consumed = lastValueFrom(rx.pipe(stages, toArray()));
  let refused: unknown;
  const produce = (async () => {
    try {
      for (let n = 1; n <= 1000; n++) await tx.send(n);
    } catch (error) {
      refused = error;
    }
  })();
  const [, outcome] = await Promise.allSettled([produce, consumed]);
  return { refused, outcome };
}

const failAt =
  (bad: number) =>
  async (n: number): Promise<number> => {
    if (n === bad) throw new Error(`boom at ${n}`);
    return n;
  };

describe('a failing consumer closes the channel it reads', () => {
  const cases: Array<[string, OperatorFunction<number, unknown>]> = [
    ['one pool', workerPool(failAt(20), { concurrency: 2 })],
    [
      'pool, then a failing pool',
      (s) =>
        s.pipe(
          workerPool(async (n: number) => n, { concurrency: 4 }),
          workerPool(failAt(20), { concurrency: 2, capacity: 4 }),
        ),
    ],
    [
      'pool, map, then a failing pool',
      (s) =>
        s.pipe(
          workerPool(async (n: number) => n, { concurrency: 4 }),
          map((n) => n),
          workerPool(failAt(20), { concurrency: 2, capacity: 4 }),
        ),
    ],
    [
      'pool, then atLeastOnce that gives up without a dead letter',
      (s) =>
        s.pipe(
          workerPool(async (n: number) => n, { concurrency: 4 }),
          atLeastOnce(failAt(20), { maxAttempts: 1, capacity: 4 }),
        ),
    ],
    [
      'pool, map, then idempotent whose key throws',
      (s) =>
        s.pipe(
          workerPool(async (n: number) => n, { concurrency: 4 }),
          map((n) => n),
          idempotent(async (n: number) => n, {
            capacity: 4,
            key: (n) => {
              if (n === 20) throw new Error('boom at 20');
              return n;
            },
          }),
        ),
    ],
  ];
  for (const [name, stages] of cases) {
    it(name, async () => {
      const { refused, outcome } = await runToFailure(stages);
      expect(outcome.status).toBe('rejected');
      expect(refused).toBeInstanceOf(ChannelClosedError);
      expect(typeof (refused as ChannelClosedError<number>).value).toBe('number');
    });
  }

  it('a plain unsubscribe does not close the channel (it may be read again)', async () => {
    const [tx, rx] = mpsc<number>(2);
    const sub = rx.pipe(workerPool(async (n: number) => n)).subscribe();
    sub.unsubscribe();
    await tx.send(1);
    expect(rx.isClosed).toBe(false);
  });
});
