/**
 * A worker process for spec/redis/groupsProcess.spec.ts:
 *   node --import tsx spec/redis/groupsWorker.ts <redis url> <queue name> <worker name>
 * Consumes the queue with `consume()` (concurrency 8) and records in Redis, for each message
 * `{ group, n, fail }`: `INCR <name>:busy:<group>` when its handler starts (a result above 1
 * means two handlers of one group ran at once, counted in `<name>:overlaps`) and `DECR` before
 * it ends; on success, `n` appended to `<name>:order:<group>`; the worker's name appended to
 * `<name>:by:<worker>`. A message with `fail` throws on its first attempt (it is nacked and
 * must keep its place). Prints "ready", then starts consuming once it pops a go from
 * `<name>:go` (so that every worker starts together, however long each took to load); SIGTERM
 * drains and exits 0.
 */
import { Redis } from 'ioredis';
import { RedisQueue } from '../../src/redis/index.js';

const [url, name, worker] = process.argv.slice(2);
if (url === undefined || name === undefined || worker === undefined) {
  throw new Error('usage: groupsWorker.ts <url> <name> <worker>');
}

interface Job {
  readonly group: string;
  readonly n: number;
  readonly fail: boolean;
}

const connection = new Redis(url);
const queue = new RedisQueue<Job>({ connection, name, visibilityTimeout: 30_000, maxAttempts: 5 });
const drain = new AbortController();
process.on('SIGTERM', () => drain.abort());
process.stdout.write('ready\n');
await connection.blpop(`${name}:go`, 0);

queue
  .consume(
    async ({ payload, attempt }) => {
      const busy = `${name}:busy:${payload.group}`;
      if ((await connection.incr(busy)) > 1) await connection.incr(`${name}:overlaps`);
      // hold the group across a few round trips, so that another process could overlap
      await connection.rpush(`${name}:by:${worker}`, payload.n);
      await connection.decr(busy);
      if (payload.fail && attempt === 1) throw new Error(`first attempt of ${payload.n} fails`);
      await connection.rpush(`${name}:order:${payload.group}`, payload.n);
    },
    { concurrency: 8, signal: drain.signal },
  )
  .subscribe({
    error: (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
    complete: () => {
      void queue.close().then(() => {
        connection.disconnect();
        process.exit(0);
      });
    },
  });
