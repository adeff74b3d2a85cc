import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingLog } from '../../src/internal/flow/slidingLog.js';

/** The earliest time >= now at which `cost` fits under `allowance`, by brute force. */
function naiveEarliest(
  entries: readonly { t: number; cost: number }[],
  now: number,
  length: number,
  allowance: number,
  cost: number,
): number {
  if (cost > allowance) return Number.POSITIVE_INFINITY;
  const candidates = [now, ...entries.map((e) => e.t + length)].filter((t) => t >= now);
  candidates.sort((a, b) => a - b);
  for (const at of candidates) {
    const inside = entries.filter((e) => e.t + length > at).reduce((sum, e) => sum + e.cost, 0);
    if (inside + cost <= allowance) return at;
  }
  return Number.POSITIVE_INFINITY;
}

describe('SlidingLog', () => {
  it('answers the earliest release exactly as a brute-force model, across growth and eviction', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 4 }),
            cost: fc.integer({ min: 1, max: 3 }),
            length: fc.integer({ min: 1, max: 12 }),
            allowance: fc.integer({ min: 1, max: 8 }),
            ask: fc.integer({ min: 0, max: 4 }),
          }),
          { maxLength: 120 },
        ),
        (steps) => {
          const horizon = 12;
          const log = new SlidingLog();
          const kept: { t: number; cost: number }[] = [];
          let now = 0;
          for (const step of steps) {
            now += step.gap;
            log.evict(now, horizon);
            const live = kept.filter((e) => e.t + horizon > now);
            expect(log.earliest(now, step.length, step.allowance, step.ask)).toBe(
              naiveEarliest(live, now, step.length, step.allowance, step.ask),
            );
            log.record(now, step.cost);
            kept.push({ t: now, cost: step.cost });
          }
          // entries at one instant share a slot; none outside the horizon are kept
          expect(log.size).toBeLessThanOrEqual(new Set(kept.map((e) => e.t)).size);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps memory flat: a long run within a short horizon holds only that horizon', () => {
    const log = new SlidingLog();
    for (let t = 0; t < 100_000; t++) {
      log.evict(t, 10);
      log.record(t, 1);
    }
    expect(log.size).toBe(10);
    expect(log.total).toBe(100_000);
  });
});
