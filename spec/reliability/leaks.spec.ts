import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { broadcast, MessageQueue, mpmc, mpsc, oneshot, watch } from '../../src/index.js';

/**
 * Abandoned waits must leave nothing behind: each case below parks many calls on a peer that
 * never moves, aborts each one, and checks the heap after a full collection. A leak of the
 * signal and its reason alone is about 2 KB per wait, so 100,000 waits would be ~200 MB.
 */

const WAITS = 100_000;
const GAVE_UP = new Error('gave up');
const BUDGET = 1024 * 1024;

function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = collector();

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap growth over `WAITS` aborted waits made by `wait(signal)`, in rounds of 1,000 that all
 * park before any is aborted (so each aborts from inside the line, not only its head).
 */
async function growth(wait: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const round = async (check: boolean) => {
    const controllers: AbortController[] = [];
    const parked: Promise<unknown>[] = [];
    let settled = 0;
    const count = () => {
      settled++;
    };
    for (let i = 0; i < 1000; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      const p = wait(controller.signal);
      p.then(count, count);
      parked.push(p);
    }
    await Promise.resolve();
    if (check) expect(settled).toBe(0); // they really waited
    for (let i = controllers.length - 1; i >= 0; i--) controllers[i]!.abort(GAVE_UP);
    await Promise.allSettled(parked);
  };
  await round(true); // warm up the code paths
  const before = heapAfterGc();
  for (let i = 0; i < WAITS / 1000; i++) await round(false);
  return heapAfterGc() - before;
}

describe('aborted waits leave nothing behind (100k waits, < 1 MB after GC)', {
  timeout: 60_000,
}, () => {
  it('mpsc send() on a full channel', async () => {
    const [tx] = mpsc<number>(1);
    await tx.send(0);
    expect(await growth((signal) => tx.send(1, { signal }))).toBeLessThan(BUDGET);
  });

  it('mpmc send() on a full channel', async () => {
    const [tx] = mpmc<number>(1);
    await tx.send(0);
    expect(await growth((signal) => tx.send(1, { signal }))).toBeLessThan(BUDGET);
  });

  it('mpsc send() behind a waiting send', async () => {
    const [tx] = mpsc<number>(1);
    await tx.send(0);
    void tx.send(1).catch(() => {});
    expect(await growth((signal) => tx.send(2, { signal }))).toBeLessThan(BUDGET);
  });

  it('mpsc recv() on an empty channel', async () => {
    const [, rx] = mpsc<number>(1);
    expect(await growth((signal) => rx.recv({ signal }))).toBeLessThan(BUDGET);
  });

  it('mpmc recv() on an empty channel while a subscription waits', async () => {
    const [, rx] = mpmc<number>(1);
    const sub = rx.subscribe();
    expect(await growth((signal) => rx.recv({ signal }))).toBeLessThan(BUDGET);
    sub.unsubscribe();
  });

  it('broadcast recv() on a quiet channel', async () => {
    const [, rx] = broadcast<number>(4);
    expect(await growth((signal) => rx.recv({ signal }))).toBeLessThan(BUDGET);
  });

  it('watch changed() on a quiet channel', async () => {
    const [, rx] = watch(0);
    expect(await growth((signal) => rx.changed({ signal }))).toBeLessThan(BUDGET);
  });

  it('oneshot recv() before the value', async () => {
    const [, rx] = oneshot<number>();
    expect(await growth((signal) => rx.recv({ signal }))).toBeLessThan(BUDGET);
  });

  it('MessageQueue send() behind a waiting send', async () => {
    const queue = new MessageQueue<number>({ capacity: 1 });
    queue.enqueue(0);
    void queue.send(1).catch(() => {});
    expect(await growth((signal) => queue.send(2, { signal }))).toBeLessThan(BUDGET);
    await queue.close({ grace: 0 });
  });

  it('MessageQueue receive({ wait }) while consume() waits on the idle queue', async () => {
    const queue = new MessageQueue<number>();
    const sub = queue.consume(async () => {}).subscribe();
    expect(
      await growth((signal) => queue.receive({ wait: Number.POSITIVE_INFINITY, signal })),
    ).toBeLessThan(BUDGET);
    sub.unsubscribe();
    await queue.close({ grace: 0 });
  });
});
