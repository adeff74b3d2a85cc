import { describe, expect, it } from 'vitest';
import { defaults } from '../../demo/options.js';
import { runDemo } from '../../demo/pipeline.js';
import { renderLive, renderPlain, renderPool } from '../../demo/view.js';
import type { PoolSnapshot } from '../../src/index.js';

const durations = (count: number, total: number, max: number) => ({ count, total, max, last: max });

describe('demo view: pool figures', () => {
  it('renders running, waiting, done, failed and the mean and longest wait and run', () => {
    const pool: PoolSnapshot = {
      waiting: 3,
      running: 4,
      done: 12_345,
      failed: 6,
      cancelled: 0,
      dropped: 0,
      lost: 0,
      waited: durations(4, 10, 7),
      ran: durations(8, 20, 9.25),
    };
    expect(renderPool('pricing', pool)).toBe(
      'pricing   running 4  waiting 3  done 12,345  failed 6  wait 2.5ms (max 7.0ms)  run 2.5ms (max 9.3ms)',
    );
    const empty = { ...pool, waited: durations(0, 0, 0), ran: durations(0, 0, 0) };
    expect(renderPool('payments', empty)).toContain(
      'wait 0.0ms (max 0.0ms)  run 0.0ms (max 0.0ms)',
    );
  });

  it('the live view shows both pools, counted from the running pipeline', async () => {
    const run = runDemo({ ...defaults, count: 200, rate: 0, timeScale: 0.05, failureRate: 0.3 });
    const accounting = await run.done;
    const s = run.snapshot();
    expect(s.pools.pricing.done).toBe(accounting.produced - accounting.dropped);
    expect(s.pools.payments.done).toBe(accounting.processed);
    expect(s.pools.payments.failed).toBe(accounting.deadLettered);
    expect(s.pools.pricing.running + s.pools.payments.running).toBe(0);
    const lines = renderLive(s, { ...defaults, count: 200 }, true);
    expect(lines).toContain(renderPool('pricing', s.pools.pricing));
    expect(lines).toContain(renderPool('payments', s.pools.payments));
    const { done, failed } = s.pools.payments;
    expect(renderPlain(s, true)).toContain(` payments=0/0/${done}/${failed} paymentsRun=`);
  });
});
