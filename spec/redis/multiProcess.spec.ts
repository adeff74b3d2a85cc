/**
 * Several processes share one queue: three `node` workers consume 10,000 messages on the
 * batched path (`consume()`'s defaults: receives sized by free workers, acks of one turn in
 * one script; checked through the server's command counts), one is
 * killed with SIGKILL mid-run, and the survivors finish the work, including the killed
 * worker's messages once their leases run out (real time: a 2 s visibility timeout).
 *
 * Checked at the end, through Redis: every message was acknowledged by the store exactly once
 * or dead-lettered, none is left anywhere, no ack was recorded twice, and the killed worker's
 * in-flight messages were redelivered. The workers record an ack after the store accepted it,
 * so the killed worker may have had up to `concurrency` (8) accepted acks it never recorded;
 * those must show as acknowledged in the message's record.
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
const MESSAGES = 10_000;

describeRedis('RedisQueue across processes', () => {
  const redis = useRedisServer();
  const workers = useWorkerProcesses();
  const startWorker = (name: string): Promise<ChildProcess> =>
    workers.start('worker.ts', [redis.url, name]);

  it('three workers share 10k messages; one is killed; every message is acked once or dead, none lost', async () => {
    const name = 'shared-work';
    const connection = redis.connect();
    const queue = new RedisQueue<{ n: number }>({
      connection,
      name,
      visibilityTimeout: 2_000,
      maxAttempts: 5,
      capacity: 20_000,
    });
    for (let start = 0; start < MESSAGES; start += 500) {
      const batch: Promise<unknown>[] = [];
      for (let n = start; n < start + 500; n++) batch.push(queue.enqueue({ n }, { id: `m${n}` }));
      await Promise.all(batch);
    }
    expect((await queue.stats()).visible).toBe(MESSAGES);
    await connection.call('CONFIG', ['RESETSTAT']);

    const [victim, ...survivors] = await Promise.all([0, 1, 2].map(() => startWorker(name)));
    // the victim itself must be at work (holding leases) when it is killed: on a loaded machine
    // the other two can ack a fifth of the messages before its first receive
    const victimRuns = async () =>
      Number((await connection.hget(`${name}:byWorker`, String(victim!.pid))) ?? 0);
    await waitFor(
      async () =>
        (await connection.hlen(`${name}:acks`)) >= MESSAGES / 5 && (await victimRuns()) >= 50,
      { timeout: 30_000, every: 100, what: 'the workers, the victim among them, to get going' },
    );
    victim!.kill('SIGKILL');
    await once(victim!, 'exit');
    const acksAtKill = await connection.hlen(`${name}:acks`);
    expect(acksAtKill).toBeLessThan(MESSAGES); // killed mid-run

    await waitFor(
      async () => {
        const s = await queue.stats();
        return s.visible + s.inFlight + s.delayed === 0 && s.acked + s.dead === MESSAGES;
      },
      { timeout: 45_000, every: 100, what: 'the survivors to finish' },
    );
    for (const worker of survivors) worker.kill('SIGTERM');
    const codes = await Promise.all(survivors.map((w) => once(w, 'exit')));
    expect(codes.map(([code]) => code)).toEqual([0, 0]);

    const stats = await queue.stats();
    expect(stats).toMatchObject({ enqueued: MESSAGES, visible: 0, inFlight: 0, delayed: 0 });
    expect(stats.acked + stats.dead).toBe(MESSAGES);
    const acks = await connection.hgetall(`${name}:acks`);
    const runs = await connection.hgetall(`${name}:runs`);
    const dead = new Set((await queue.deadLetters()).map((letter) => letter.id));
    let recorded = 0;
    const unrecorded: string[] = [];
    for (let n = 0; n < MESSAGES; n++) {
      const id = `m${n}`;
      const count = Number(acks[id] ?? 0);
      expect(count).toBeLessThanOrEqual(1); // never acknowledged twice
      expect(Number(runs[id] ?? 0)).toBeGreaterThanOrEqual(1); // every message was handled
      if (count === 1) {
        expect(dead.has(id)).toBe(false);
        recorded++;
      } else if (!dead.has(id)) unrecorded.push(id);
    }
    // acks the killed worker got from the store but died before recording
    expect(unrecorded.length).toBeLessThanOrEqual(8);
    for (const id of unrecorded) {
      const seq = await connection.get(queue.keys.id(id));
      expect(await connection.hget(queue.keys.message(seq!), 's')).toBe('a');
    }
    expect(recorded + unrecorded.length).toBe(stats.acked);
    // the killed worker's leases ran out and were handled again by the survivors
    expect(await connection.hlen(`${name}:redelivered`)).toBeGreaterThan(0);
    // the batched path ran: one receive and one ack script per message would be 2 x MESSAGES
    const commandStats = String(await connection.call('INFO', ['commandstats']));
    const scripts = Number(/cmdstat_evalsha:calls=(\d+)/.exec(commandStats)?.[1] ?? Number.NaN);
    expect(scripts).toBeLessThan(MESSAGES);
    await queue.close();
  }, 90_000);
});
