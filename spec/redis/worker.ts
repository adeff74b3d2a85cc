/**
 * A worker process for spec/redis/multiProcess.spec.ts:
 *   node --import tsx spec/redis/worker.ts <redis url> <queue name>
 * Consumes the queue with `consume()` (its defaults: the batched receive and ack path) and records, per message id, every handler run
 * (`<name>:runs`) and per worker process (`<name>:byWorker`, by pid), every run of a redelivery (`<name>:redelivered`) and every ack the store
 * accepted (`<name>:acks`), with HINCRBY so that a duplicate shows as a count of 2.
 * Prints "ready" once consuming; SIGTERM drains (running handlers finish) and exits 0.
 */
import { Redis } from 'ioredis';
import { RedisQueue } from '../../src/redis/index.js';

const [url, name] = process.argv.slice(2);
if (url === undefined || name === undefined) throw new Error('usage: worker.ts <url> <name>');

const connection = new Redis(url);
const queue = new RedisQueue<{ n: number }>({
  connection,
  name,
  visibilityTimeout: 2_000,
  maxAttempts: 5,
  capacity: 20_000,
});
const drain = new AbortController();
process.on('SIGTERM', () => drain.abort());

const pending = new Set<Promise<unknown>>();
const track = (p: Promise<unknown>) => {
  pending.add(p);
  void p.finally(() => pending.delete(p));
};

queue
  .consume(
    async (message) => {
      await connection.hincrby(`${name}:runs`, message.id, 1);
      await connection.hincrby(`${name}:byWorker`, String(process.pid), 1);
      if (message.attempt > 1) await connection.hincrby(`${name}:redelivered`, message.id, 1);
    },
    // the defaults: consume pulls deliveries in batches, acks go out in batches
    { concurrency: 8, drain: drain.signal },
  )
  .subscribe({
    next: (outcome) => {
      if (outcome.status === 'acked')
        track(connection.hincrby(`${name}:acks`, outcome.message.id, 1));
      else track(connection.hincrby(`${name}:outcomes`, outcome.status, 1));
    },
    error: (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
    complete: () => {
      void Promise.all(pending)
        .then(() => queue.close())
        .then(() => {
          connection.disconnect();
          process.exit(0);
        });
    },
  });
process.stdout.write('ready\n');
