import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ChannelClosedError, mpmc } from '../../src/index.js';

describe('mpmc', () => {
  it('gives each message to exactly one subscriber, taking turns', () => {
    const [tx, rx] = mpmc<number>(8);
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    rx.subscribe((n) => a.push(n));
    rx.subscribe((n) => b.push(n));
    rx.subscribe((n) => c.push(n));
    for (let i = 0; i < 9; i++) tx.trySend(i);
    expect([a, b, c]).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  it('skips a pull consumer without demand', async () => {
    const [tx, rx] = mpmc<number>(8);
    const iterator = rx[Symbol.asyncIterator]();
    const first = iterator.next(); // demand for one
    const subscriber: number[] = [];
    rx.subscribe((n) => subscriber.push(n));
    for (let i = 0; i < 4; i++) tx.trySend(i);
    expect((await first).value).toBe(0);
    expect(subscriber).toEqual([1, 2, 3]);
    await iterator.return?.();
  });

  it('keeps messages for the others when a consumer unsubscribes', () => {
    const [tx, rx] = mpmc<number>(8);
    const a: number[] = [];
    const subA = rx.subscribe((n) => a.push(n));
    tx.trySend(1);
    subA.unsubscribe();
    tx.trySend(2);
    tx.trySend(3);
    const b: number[] = [];
    rx.subscribe((n) => b.push(n));
    expect([a, b]).toEqual([[1], [2, 3]]);
  });

  it('completes every consumer once closed and drained', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ hot, expectObservable }) => {
        const [tx, rx] = mpmc<string>(8);
        hot('-a-b-c-d-|').subscribe(tx);
        expectObservable(rx).toBe('-a---c---|');
        expectObservable(rx).toBe('---b---d-|');
      },
    );
  });

  it('competing recv calls each get a different message', async () => {
    const [tx, rx] = mpmc<number>(4);
    const calls = [rx.recv(), rx.recv(), rx.recv()];
    tx.trySend(1);
    tx.trySend(2);
    tx.trySend(3);
    expect(await Promise.all(calls)).toEqual([1, 2, 3]);
    tx.close();
    await expect(rx.recv()).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('for await loops compete for messages', async () => {
    const [tx, rx] = mpmc<number>(2);
    const consume = async () => {
      const got: number[] = [];
      for await (const n of rx) {
        got.push(n);
        await Promise.resolve();
      }
      return got;
    };
    const workers = [consume(), consume()];
    for (let i = 0; i < 20; i++) await tx.send(i);
    tx.close();
    const [x, y] = await Promise.all(workers);
    expect([...x!, ...y!].sort((p, q) => p - q)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(x!.length).toBeGreaterThan(0);
    expect(y!.length).toBeGreaterThan(0);
  });

  it('rejects bad capacity with the argument name', () => {
    expect(() => mpmc(0)).toThrow('mpmc: capacity must be a whole number >= 1 or Infinity, got 0');
  });
});
