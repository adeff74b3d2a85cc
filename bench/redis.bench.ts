/**
 * `RedisQueue` throughput on a private redis-server, beside that server's own ceiling.
 *
 * Measured (no target is set; the figures
 * are recorded):
 * - enqueue: one process, 64 enqueues in flight, `RedisQueue.enqueue` of a small JSON payload;
 * - receive + ack through `consume()`: 20k preloaded messages consumed by 1, 2 and 4 worker
 *   processes (each `concurrency` 16, a handler that does nothing), from the moment they are
 *   told to start until the store counts every message acknowledged;
 * - the baseline of every row: `redis-benchmark`'s raw `XADD` rate on the same server (50
 *   clients, no pipelining), the most a queue built on one `XADD` per message could reach.
 *   A `RedisQueue` message costs one script call to enqueue (hash, dedup key, XADD) and, to
 *   consume, a share of one receive script and one ack script, so it runs below that ceiling.
 *
 * Every workload checks its count through Redis. When redis-server or redis-benchmark is not
 * installed, one row says so and nothing else runs.
 *
 * The worker processes are this file run as `node --import tsx bench/redis.bench.ts worker
 * <url> <name>`. Runs standalone with `npx tsx bench/redis.bench.ts`, or through
 * `npm run bench -- redis`.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import {
  type RedisServer,
  redisBenchmarkPath,
  redisServerPath,
  startRedisServer,
} from '../spec/redis/redisProcess.js';
import { RedisQueue } from '../src/redis/index.js';
import { formatTable, type Row, row } from './harness.js';

const group = 'redis';
const ENQUEUES = 20_000;
const IN_FLIGHT = 64;
const CONSUMED = 20_000;
const CONCURRENCY = 16;
const here = fileURLToPath(import.meta.url);

/** Requests per second of `redis-benchmark ... XADD` on the server. */
function xaddCeiling(port: number): number {
  const csv = execFileSync(
    redisBenchmarkPath!,
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-n',
      '200000',
      '-c',
      '50',
      '--csv',
      'XADD',
      'bench:ceiling',
      '*',
      'k',
      '1',
    ],
    { encoding: 'utf8' },
  );
  // "test","rps",...  then  "XADD bench:ceiling * k 1","123456.79",...
  const line = csv.trim().split('\n').pop() ?? '';
  const rps = Number(line.split('","')[1]);
  if (!Number.isFinite(rps) || rps <= 0)
    throw new Error(`cannot read redis-benchmark output: ${csv}`);
  return rps;
}

async function enqueueRate(url: string): Promise<number> {
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({
    connection,
    name: 'bench-enqueue',
    capacity: Infinity,
  });
  try {
    const start = process.hrtime.bigint();
    let next = 0;
    const lane = async () => {
      while (next < ENQUEUES) {
        const n = next++;
        const result = await queue.enqueue({ n });
        if (!result.ok) throw new Error(`enqueue refused: ${JSON.stringify(result)}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stats = await queue.stats();
    if (stats.enqueued !== ENQUEUES)
      throw new Error(`enqueued ${stats.enqueued}, expected ${ENQUEUES}`);
    return ENQUEUES / seconds;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

function startWorker(url: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', here, 'worker', url, name], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`bench worker exited early (${code})`)));
  });
}

/** Messages per second consumed (received and acked) by `processes` worker processes. */
async function consumeRate(url: string, processes: number): Promise<number> {
  const name = `bench-consume-${processes}`;
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({ connection, name, capacity: Infinity });
  const workers: ChildProcess[] = [];
  try {
    for (let start = 0; start < CONSUMED; start += 1_000) {
      await Promise.all(Array.from({ length: 1_000 }, (_, i) => queue.enqueue({ n: start + i })));
    }
    workers.push(
      ...(await Promise.all(Array.from({ length: processes }, () => startWorker(url, name)))),
    );
    const begin = process.hrtime.bigint();
    for (const worker of workers) worker.stdin?.write('go\n');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const stats = await queue.stats();
      if (stats.acked >= CONSUMED) break;
      if (Date.now() > deadline)
        throw new Error(`only ${stats.acked} of ${CONSUMED} acked in 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
    const stats = await queue.stats();
    if (stats.acked !== CONSUMED || stats.visible + stats.inFlight !== 0) {
      throw new Error(`consumed ${JSON.stringify(stats)}`);
    }
    return CONSUMED / seconds;
  } finally {
    for (const worker of workers) {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await once(worker, 'exit');
      }
    }
    await queue.close();
    connection.disconnect();
  }
}

/** The worker process: waits for "go" on stdin, consumes until SIGTERM. */
async function worker(url: string, name: string): Promise<void> {
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({
    connection,
    name,
    capacity: Infinity,
    blockTime: 100,
  });
  const drain = new AbortController();
  process.on('SIGTERM', () => drain.abort());
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  queue
    .consume(() => undefined, { concurrency: CONCURRENCY, signal: drain.signal, pollWait: 200 })
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
}

export async function run(): Promise<Row[]> {
  if (redisServerPath === undefined || redisBenchmarkPath === undefined) {
    return [
      {
        group,
        name: 'RedisQueue',
        unit: 'msg/s',
        value: Number.NaN,
        baseline: 'redis-benchmark XADD',
        baselineValue: Number.NaN,
        ratio: Number.NaN,
        note: 'skipped: redis-server or redis-benchmark is not installed (apt-get install -y redis-server)',
      },
    ];
  }
  let server: RedisServer | undefined;
  try {
    server = await startRedisServer();
    const ceiling = xaddCeiling(server.port);
    const baseline = 'redis-benchmark XADD (50 clients, no pipelining)';
    const rows: Row[] = [
      row({
        group,
        name: `RedisQueue enqueue (1 process, ${IN_FLIGHT} in flight)`,
        unit: 'msg/s',
        value: await enqueueRate(server.url),
        baseline,
        baselineValue: ceiling,
        note: 'one Lua script per message: message hash, dedup check, capacity check, XADD',
      }),
    ];
    for (const processes of [1, 2, 4]) {
      rows.push(
        row({
          group,
          name: `RedisQueue receive + ack via consume(), ${processes} process${processes > 1 ? 'es' : ''}`,
          unit: 'msg/s',
          value: await consumeRate(server.url, processes),
          baseline,
          baselineValue: ceiling,
          note: `${CONSUMED / 1000}k preloaded messages, concurrency ${CONCURRENCY} per process, a no-op handler; the machine's cores are shared by the workers and redis-server`,
        }),
      );
    }
    return rows;
  } finally {
    await server?.stop();
  }
}

const [, , mode, url, name] = process.argv;
if (mode === 'worker' && url !== undefined && name !== undefined) {
  void worker(url, name);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
