/**
 * Several processes share one RabbitMQ queue: three `node` workers consume 10,000 messages with
 * `consumeAmqp`, one is killed with SIGKILL while its handlers run, and the survivors finish
 * the work, including the killed worker's unacknowledged messages, which the broker requeues
 * when its connection drops.
 *
 * Checked at the end, from the workers' own records and the broker: every message was handled
 * to success at least once; the queue and its dead-letter queue are empty; no survivor
 * completed a message twice. A message may be completed twice only when the killed worker
 * completed it and its ack died with it: at most its prefetch (16) such messages.
 *
 * This test waits on conditions (polling with a bounded deadline), never on durations.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmqpPublisher, amqpTopology } from 'sluice/amqp';
import { afterEach, expect, it } from 'vitest';
import { amqpUrl, describeAmqp, useAmqp, waitFor } from './amqpServer.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const MESSAGES = 10_000;

interface Records {
  runs: number;
  done: Map<number, number>;
}

describeAmqp('consumeAmqp across processes', () => {
  const amqp = useAmqp();
  const workers: ChildProcess[] = [];

  afterEach(async () => {
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill('SIGKILL');
        await once(worker, 'exit');
      }
    }
    workers.length = 0;
  });

  function startWorker(queue: string, dlx: string, records: Records): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'worker.ts'), amqpUrl, queue, dlx],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(here, '..', '..') },
    );
    workers.push(child);
    return new Promise((resolve, reject) => {
      let rest = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const [event, n] = line.split(' ');
          if (event === 'ready') resolve(child);
          else if (event === 'run') records.runs++;
          else if (event === 'done') {
            const key = Number(n);
            records.done.set(key, (records.done.get(key) ?? 0) + 1);
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
  }

  it('three workers share 10k messages; one is killed mid-handler; every message is handled, none lost', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('shared'), maxAttempts: 5 });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    const publisher = new AmqpPublisher<{ n: number }>({
      connection,
      ...topology.publishTo,
      maxUnconfirmed: 500,
    });
    await Promise.all(Array.from({ length: MESSAGES }, (_, n) => publisher.send({ n })));
    await publisher.close();
    const check = await connection.createChannel();
    expect((await check.checkQueue(topology.queue)).messageCount).toBe(MESSAGES);

    const records: Records[] = [0, 1, 2].map(() => ({ runs: 0, done: new Map() }));
    const started = await Promise.all(
      records.map((r) => startWorker(topology.queue, topology.deadLetter.exchange, r)),
    );
    const [victim, ...survivors] = started as [ChildProcess, ...ChildProcess[]];
    const victimRecords = records[0] as Records;
    await waitFor(() => victimRecords.done.size >= MESSAGES / 10, {
      timeout: 30_000,
      every: 20,
      what: 'the workers to get going',
    });
    victim.kill('SIGKILL');
    await once(victim, 'exit');
    const doneByVictim = victimRecords.done.size;
    expect(victimRecords.runs).toBeGreaterThanOrEqual(doneByVictim);
    expect(doneByVictim).toBeLessThan(MESSAGES); // killed mid-run

    const handled = () => {
      const all = new Set<number>();
      for (const r of records) for (const n of r.done.keys()) all.add(n);
      return all;
    };
    await waitFor(
      async () =>
        handled().size === MESSAGES && (await check.checkQueue(topology.queue)).messageCount === 0,
      { timeout: 60_000, every: 100, what: 'the survivors to finish' },
    );
    for (const worker of survivors) worker.kill('SIGTERM');
    const codes = await Promise.all(survivors.map((w) => once(w, 'exit')));
    expect(codes.map(([code]) => code)).toEqual([0, 0]);

    // nothing left: everything was acked, nothing was dead-lettered
    expect((await check.checkQueue(topology.queue)).messageCount).toBe(0);
    expect((await check.checkQueue(topology.deadLetterQueue)).messageCount).toBe(0);
    // every message handled to success; survivors never twice
    expect(handled().size).toBe(MESSAGES);
    const [, ...survivorRecords] = records;
    const twice: number[] = [];
    for (let n = 0; n < MESSAGES; n++) {
      const bySurvivors = survivorRecords.reduce((sum, r) => sum + (r.done.get(n) ?? 0), 0);
      expect(bySurvivors).toBeLessThanOrEqual(1);
      const byVictim = victimRecords.done.get(n) ?? 0;
      expect(byVictim).toBeLessThanOrEqual(1);
      if (byVictim + bySurvivors > 1) twice.push(n);
    }
    // completed by the victim, but its ack was lost with it: redelivered and completed again
    expect(twice.length).toBeLessThanOrEqual(16);
    for (const n of twice) expect(victimRecords.done.get(n)).toBe(1);
  }, 120_000);
});
