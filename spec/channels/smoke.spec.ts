import { mpmc, mpsc } from 'sluice';
import { describe, expect, it } from 'vitest';

describe('smoke', () => {
  it('mpsc for await', async () => {
    const [tx, rx] = mpsc<number>(2);
    const producer = (async () => {
      for (let i = 1; i <= 5; i++) await tx.send(i);
      tx.close();
    })();
    const seen: number[] = [];
    for await (const n of rx) seen.push(n);
    await producer;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
  it('mpmc round robin', () => {
    const [tx, rx] = mpmc<string>(10);
    const a: string[] = [];
    const b: string[] = [];
    rx.subscribe((j) => a.push(j));
    rx.subscribe((j) => b.push(j));
    for (const j of ['j1', 'j2', 'j3', 'j4']) tx.trySend(j);
    expect([a, b]).toEqual([
      ['j1', 'j3'],
      ['j2', 'j4'],
    ]);
  });
});
