/**
 * `TurnPacer`: the first caller of a turn of the event loop goes on at once, each later one a
 * turn after the one before, so that work handed on together is spread over turns.
 */
import { setImmediate } from 'node:timers';
import { describe, expect, it, vi } from 'vitest';
import { TurnPacer } from '../../src/redis/turnPacer.js';

/** Resolves after `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('TurnPacer', () => {
  it('lets the first caller of a turn go on at once', () => {
    expect(new TurnPacer().turn()).toBeUndefined();
  });

  it('lets each later caller of the same turn go on one turn after the one before', async () => {
    const pacer = new TurnPacer();
    const order: string[] = [];
    // Each caller records the turn it went on in: the turn counter moves once per turn.
    let turn = 0;
    let counting = true;
    const count = () => {
      if (!counting) return;
      turn++;
      setImmediate(count);
    };
    setImmediate(count);
    const go = async (name: string) => {
      const wait = pacer.turn();
      if (wait !== undefined) await wait;
      order.push(`${name}@${turn}`);
    };
    await Promise.all([go('a'), go('b'), go('c')]);
    counting = false;
    const [a, b, c] = order.map((entry) => Number(entry.split('@')[1]));
    expect(order.map((entry) => entry.split('@')[0])).toEqual(['a', 'b', 'c']);
    expect(a).toBe(0);
    expect(b).toBeGreaterThan(a!);
    expect(c).toBeGreaterThan(b!);
  });

  it('a caller of a later turn goes on at once again', async () => {
    const pacer = new TurnPacer();
    expect(pacer.turn()).toBeUndefined();
    await turns(2);
    expect(pacer.turn()).toBeUndefined();
  });

  it('is not held back by fake timers, which replace only the global setImmediate', async () => {
    vi.useFakeTimers();
    try {
      const pacer = new TurnPacer();
      pacer.turn();
      await pacer.turn();
    } finally {
      vi.useRealTimers();
    }
  });
});
