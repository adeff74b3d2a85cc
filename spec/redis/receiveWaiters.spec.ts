/**
 * Waiting `receive`s of one `RedisQueue` handle share one poll loop: a thousand idle waits cost
 * one receive script per blocking read (per `blockTime`), not one each; they are served first
 * come, first served from one script's deliveries; an aborted wait leaves the line at once,
 * its timer with it (100k aborted waits are checked on the heap after a full collection).
 * Script calls and blocking reads are counted through the server's command statistics; what
 * only Redis can show is polled with a bounded deadline, and no duration is asserted.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { RedisQueue } from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { closeAfterEach, describeRedis, useRedisServer, waitFor } from './redisServer.js';

function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describeRedis('RedisQueue waiting receives', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open(blockTime = 20) {
    const connection = redis.connect();
    const queue = new RedisQueue<string>({
      connection,
      name: `waiters${++count}`,
      clock: 'scheduler',
      scheduler: new ManualClock(),
      blockTime,
    });
    opened.push(queue);
    return { connection, queue };
  }

  /** Calls of each counted command since the last look (scripts: only those that ran). */
  async function callsSince(connection: ReturnType<typeof redis.connect>) {
    const info = String(await connection.call('INFO', ['commandstats']));
    await connection.call('CONFIG', ['RESETSTAT']);
    let scripts = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),.*failed_calls=(\d+)/g)) {
      scripts += Number(m[1]) - Number(m[2]);
    }
    const xread = /cmdstat_xread:calls=(\d+)/.exec(info);
    return { scripts, xreads: Number(xread?.[1] ?? 0) };
  }

  it('1000 idle waiting receives cost one script per blocking read, not one each', async () => {
    const { connection, queue } = open();
    await queue.stats();
    const stop = new AbortController();
    const waits = Array.from({ length: 1000 }, () =>
      queue.receive({ wait: Number.POSITIVE_INFINITY, signal: stop.signal }).catch(() => 'aborted'),
    );
    await waitFor(async () => (await queue.stats()).visible === 0);
    await callsSince(connection);
    let seen = { scripts: 0, xreads: 0 };
    await waitFor(
      async () => {
        const now = await callsSince(connection);
        seen = { scripts: seen.scripts + now.scripts, xreads: seen.xreads + now.xreads };
        return seen.xreads >= 5;
      },
      { what: 'five blocking reads', timeout: 10_000 },
    );
    // one receive script after each blocking read (its wake-up), plus the stats calls above
    expect(seen.scripts).toBeLessThanOrEqual(2 * seen.xreads + 2);
    stop.abort();
    expect(new Set(await Promise.all(waits))).toEqual(new Set(['aborted']));
  });

  it('one script serves many waiting receives, first come first served', async () => {
    const { connection, queue } = open(1_000);
    const first = queue.receive({ max: 2, wait: Number.POSITIVE_INFINITY });
    const second = queue.receive({ max: 1, wait: Number.POSITIVE_INFINITY });
    const third = queue.receive({ max: 5, wait: Number.POSITIVE_INFINITY });
    await waitFor(async () => (await queue.stats()).visible === 0);
    await callsSince(connection);
    const producer = new RedisQueue<string>({
      connection: redis.connect(),
      name: queue.keys.base.slice('sluice:{'.length, -1),
    });
    opened.push(producer);
    await Promise.all(['a', 'b', 'c', 'd'].map((p) => producer.enqueue(p)));
    const got = await Promise.all([first, second, third]);
    expect(got.map((batch) => batch.map((d) => d.payload))).toEqual([['a', 'b'], ['c'], ['d']]);
    // the producer's enqueue script, then the one receive script that served all three
    const { scripts } = await callsSince(connection);
    expect(scripts).toBeLessThanOrEqual(3);
  });

  it('a receive whose wait runs out resolves [] without a script; an aborted one leaves the line', async () => {
    const clock = new ManualClock();
    const connection = redis.connect();
    const queue = new RedisQueue<string>({
      connection,
      name: `waiters${++count}`,
      clock: 'scheduler',
      scheduler: clock,
      blockTime: 60_000,
    });
    opened.push(queue);
    const stop = new AbortController();
    const timed = queue.receive({ wait: 500 });
    const aborted = queue.receive({ wait: Number.POSITIVE_INFINITY, signal: stop.signal });
    const staying = queue.receive({ wait: Number.POSITIVE_INFINITY });
    await waitFor(async () => {
      const clients = String(await connection.call('CLIENT', ['LIST']));
      return clients.includes('cmd=xread');
    });
    await callsSince(connection);
    clock.advance(500);
    expect(await timed).toEqual([]);
    stop.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect((await callsSince(connection)).scripts).toBe(0);
    await queue.enqueue('x');
    expect((await staying).map((d) => d.payload)).toEqual(['x']);
  });

  it('100k aborted waiting receives, with and without a time limit, leave < 1 MB behind', {
    timeout: 120_000,
  }, async () => {
    const gc = collector();
    const clock = new ManualClock();
    const queue = new RedisQueue<string>({
      connection: redis.connect(),
      name: `waiters${++count}`,
      clock: 'scheduler',
      scheduler: clock,
      blockTime: 60_000,
    });
    opened.push(queue);
    const gaveUp = new Error('gave up');
    const round = async () => {
      const controllers: AbortController[] = [];
      const parked: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        const controller = new AbortController();
        controllers.push(controller);
        const wait = i % 2 === 0 ? 3_600_000 : Number.POSITIVE_INFINITY;
        parked.push(queue.receive({ wait, signal: controller.signal }));
      }
      for (let i = controllers.length - 1; i >= 0; i--) controllers[i]!.abort(gaveUp);
      const outcomes = await Promise.allSettled(parked);
      expect(outcomes.every((o) => o.status === 'rejected' && o.reason === gaveUp)).toBe(true);
    };
    await round();
    const before = heapAfterGc(gc);
    for (let i = 0; i < 100; i++) await round();
    expect(heapAfterGc(gc) - before).toBeLessThan(1024 * 1024);
  });
});
