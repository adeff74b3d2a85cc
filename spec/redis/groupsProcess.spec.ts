/**
 * Message groups hold across processes: three `node` workers consume one queue of 24 groups
 * (40 messages each, every seventh failing its first attempt, priorities mixed) beside plain
 * messages. Checked through Redis at the end: each group's messages succeeded in enqueue order
 * (a failed one kept its place), no two handlers of one group ever ran at once in any process,
 * every worker handled some of the work (they start together once all are loaded), and nothing
 * is left in the queue or its group keys.
 *
 * This test waits on conditions (polling with a bounded deadline), never on durations.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { RedisQueue } from '../../src/redis/index.js';
import { describeRedis, useRedisServer, waitFor } from './redisServer.js';
import { useWorkerProcesses } from './workerProcesses.js';

const _here = fileURLToPath(new URL('.', import.meta.url));
const GROUPS = 24;
const PER_GROUP = 40;
const PLAIN = 200;

describeRedis('RedisQueue message groups across processes', () => {
  const redis = useRedisServer();
  const workers = useWorkerProcesses();
  const startWorker = (name: string, worker: string): Promise<ChildProcess> =>
    workers.start('groupsWorker.ts', [redis.url, name, worker]);

  it('three workers: each group one at a time and in order, a failed message keeps its place', async () => {
    const name = 'grouped-work';
    const connection = redis.connect();
    const queue = new RedisQueue<{ group: string; n: number; fail: boolean }>({
      connection,
      name,
    });
    // interleaved: group g's n-th message, with a priority that varies along the group
    const sends: Promise<unknown>[] = [];
    for (let n = 0; n < PER_GROUP; n++) {
      for (let g = 0; g < GROUPS; g++) {
        const group = `g${g}`;
        const priority = ((n + g) % 5) - 2;
        sends.push(queue.enqueue({ group, n, fail: n % 7 === 3 }, { group, priority }));
      }
    }
    for (let n = 0; n < PLAIN; n++) {
      sends.push(queue.enqueue({ group: `plain${n}`, n: 0, fail: false }));
    }
    await Promise.all(sends);
    const total = GROUPS * PER_GROUP + PLAIN;
    expect((await queue.stats()).visible).toBe(total);

    const started = await Promise.all(['w1', 'w2', 'w3'].map((w) => startWorker(name, w)));
    // all loaded: one go each, so that none finishes the work before another has started
    await connection.rpush(`${name}:go`, '1', '1', '1');
    await waitFor(
      async () => {
        const s = await queue.stats();
        return s.acked === total;
      },
      { timeout: 60_000, every: 100, what: 'the workers to finish' },
    );
    for (const worker of started) worker.kill('SIGTERM');
    const codes = await Promise.all(started.map((w) => once(w, 'exit')));
    expect(codes.map(([code]) => code)).toEqual([0, 0, 0]);

    expect(Number((await connection.get(`${name}:overlaps`)) ?? 0)).toBe(0);
    const inOrder = Array.from({ length: PER_GROUP }, (_, n) => String(n));
    for (let g = 0; g < GROUPS; g++) {
      expect(await connection.lrange(`${name}:order:g${g}`, 0, -1)).toEqual(inOrder);
    }
    for (const w of ['w1', 'w2', 'w3']) {
      expect(await connection.llen(`${name}:by:${w}`)).toBeGreaterThan(0);
    }
    const stats = await queue.stats();
    expect(stats).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, dead: 0, acked: total });
    expect(stats.nacked).toBe(GROUPS * Math.ceil((PER_GROUP - 3) / 7));
    const groupKeys = await connection.keys(`${queue.keys.base}:g:*`);
    expect(groupKeys).toEqual([]);
    expect(await connection.zcard(queue.keys.priority)).toBe(0);
    await queue.close();
  }, 90_000);
});
