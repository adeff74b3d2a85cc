/**
 * `RedisQueue` throughput on a private redis-server, beside BullMQ on the same server and
 * beside that server's own `XADD` ceiling.
 *
 * Workloads (small JSON payloads, every count checked through Redis):
 * - enqueue, one process, 64 calls in flight: `RedisQueue.enqueue` beside BullMQ's
 *   `Queue.add`; and 1,000 calls in one turn beside one `Queue.addBulk` of 1,000 (calls made in
 *   one turn go out together in `RedisQueue`, so a loop of `enqueue` is its bulk form);
 * - consume: 20k preloaded messages, 1 and 4 worker processes, each with concurrency 16 and a
 *   handler that does nothing, from the moment they are told to start until the queue counts
 *   every message done: `RedisQueue.consume` with its defaults beside a BullMQ `Worker` set up
 *   as its documentation recommends (`maxRetriesPerRequest: null`, `removeOnComplete`);
 * - the ceiling: `redis-benchmark`'s raw `XADD` rate (50 clients), without pipelining and with
 *   16 commands per round trip, the most a queue built on one `XADD` per message could reach.
 *   A `RedisQueue` message costs a share of a receive script and of an ack script, each doing
 *   the lease bookkeeping, so its receive + ack runs below that ceiling.
 *
 * Three rounds, interleaved (sluice, BullMQ, sluice, BullMQ, ...) because the machine is
 * shared: each row shows the median round, and its note every round's ratio. Beside the
 * consume rates, the server time per message (the CPU time of redis-server's main thread while
 * the workers run): the work each design puts on the one Redis core, which moves much less
 * with the load of a shared machine than a rate does.
 *
 * The worker processes are this file run as `node --import tsx bench/redis.bench.ts worker
 * <sluice|bullmq> <url> <name>`. Runs standalone with `npx tsx bench/redis.bench.ts`, or
 * through `npm run bench -- redis`. When redis-server or redis-benchmark is not installed, one
 * row says so and nothing else runs.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  type RedisServer,
  redisBenchmarkPath,
  redisServerPath,
  startRedisServer,
} from '../spec/redis/redisProcess.js';
import { RedisQueue } from '../src/redis/index.js';
import { formatTable, type Row, row } from './harness.js';
import { formatRatio } from './report.js';

const group = 'redis';
const ENQUEUES = 20_000;
const IN_FLIGHT = 64;
const BULK = 1_000;
const CONSUMED = 20_000;
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.REDIS_BENCH_ROUNDS ?? 3);
/** While tuning: REDIS_BENCH_PAIRS=2,3 runs only those pairs (0 enqueue, 1 bulk, 2-3 consume). */
const only = process.env.REDIS_BENCH_PAIRS?.split(',').map(Number);
const here = fileURLToPath(import.meta.url);

type Kind = 'sluice' | 'bullmq';
let queues = 0;
const fresh = (what: string) => `bench-${what}-${++queues}`;

function bullConnection(url: string) {
  const { hostname, port } = new URL(url);
  // BullMQ's documentation: workers need maxRetriesPerRequest null.
  return { host: hostname, port: Number(port), maxRetriesPerRequest: null };
}

/** Requests per second of `redis-benchmark ... XADD` on the server. */
function xaddCeiling(port: number, pipeline: number): number {
  const csv = execFileSync(
    redisBenchmarkPath!,
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-n',
      pipeline > 1 ? '1000000' : '200000',
      '-c',
      '50',
      '-P',
      String(pipeline),
      '--csv',
      'XADD',
      `bench:ceiling:${pipeline}`,
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

/**
 * CPU microseconds redis-server's main thread has used (INFO cpu, user + system): its commands
 * and scripts, and the network work of serving its clients, which is where a design with more
 * round trips pays. Command statistics would count a script's inner commands twice (once in
 * the script, once each), so the CPU clock is the fairer measure of the work on the one core.
 */
async function serverMicros(admin: Redis): Promise<number> {
  const info = String(await admin.call('INFO', ['cpu']));
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  const seconds = read('used_cpu_user_main_thread') + read('used_cpu_sys_main_thread');
  if (!Number.isFinite(seconds)) throw new Error(`cannot read redis-server's CPU time: ${info}`);
  return seconds * 1e6;
}

/** Server time per consumed message of the latest consume run, by kind and processes. */
const serverCost: Record<string, number[]> = {};
function recordCost(kind: Kind, processes: number, micros: number): void {
  (serverCost[`${kind}:${processes}`] ??= []).push(micros / CONSUMED);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** `lanes` callers, each awaiting its call before the next, until `total` calls were made. */
async function lanes(total: number, lanes: number, call: (n: number) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function sluiceEnqueue(url: string, bulk: boolean): Promise<number> {
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({
    connection,
    name: fresh('enqueue'),
    capacity: Infinity,
  });
  try {
    const seconds = await timed(async () => {
      if (bulk) {
        for (let start = 0; start < ENQUEUES; start += BULK) {
          const results = await Promise.all(
            Array.from({ length: BULK }, (_, i) => queue.enqueue({ n: start + i })),
          );
          if (!results.every((r) => r.ok)) throw new Error('enqueue refused');
        }
      } else {
        await lanes(ENQUEUES, IN_FLIGHT, async (n) => {
          if (!(await queue.enqueue({ n })).ok) throw new Error('enqueue refused');
        });
      }
    });
    const stats = await queue.stats();
    if (stats.enqueued !== ENQUEUES)
      throw new Error(`enqueued ${stats.enqueued}, expected ${ENQUEUES}`);
    return ENQUEUES / seconds;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function bullEnqueue(url: string, bulk: boolean): Promise<number> {
  const queue = new Queue(fresh('bull-enqueue'), {
    connection: bullConnection(url),
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 1_000 },
  });
  try {
    await queue.waitUntilReady();
    const seconds = await timed(async () => {
      if (bulk) {
        for (let start = 0; start < ENQUEUES; start += BULK) {
          await queue.addBulk(
            Array.from({ length: BULK }, (_, i) => ({ name: 'job', data: { n: start + i } })),
          );
        }
      } else {
        await lanes(ENQUEUES, IN_FLIGHT, async (n) => {
          await queue.add('job', { n });
        });
      }
    });
    const waiting = await queue.getWaitingCount();
    if (waiting !== ENQUEUES) throw new Error(`BullMQ holds ${waiting}, expected ${ENQUEUES}`);
    return ENQUEUES / seconds;
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

function startWorker(kind: Kind, url: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', here, 'worker', kind, url, name], {
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

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  for (const worker of workers) {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  }
}

/** Starts the workers, says go, and times until `finished()` holds. */
async function timeWorkers(
  kind: Kind,
  url: string,
  name: string,
  processes: number,
  finished: () => Promise<boolean>,
): Promise<number> {
  const workers: ChildProcess[] = [];
  const admin = new Redis(url);
  try {
    workers.push(
      ...(await Promise.all(Array.from({ length: processes }, () => startWorker(kind, url, name)))),
    );
    const cpuBefore = await serverMicros(admin);
    const seconds = await timed(async () => {
      for (const worker of workers) worker.stdin?.write('go\n');
      const deadline = Date.now() + 120_000;
      while (!(await finished())) {
        if (Date.now() > deadline) throw new Error(`${kind} workers did not finish in 120 s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    recordCost(kind, processes, (await serverMicros(admin)) - cpuBefore);
    return seconds;
  } finally {
    admin.disconnect();
    await stopWorkers(workers);
  }
}

/** Messages per second received and acked by `processes` RedisQueue worker processes. */
async function sluiceConsume(url: string, processes: number): Promise<number> {
  const name = fresh('consume');
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({ connection, name, capacity: Infinity });
  try {
    for (let start = 0; start < CONSUMED; start += BULK) {
      await Promise.all(Array.from({ length: BULK }, (_, i) => queue.enqueue({ n: start + i })));
    }
    const seconds = await timeWorkers('sluice', url, name, processes, async () => {
      return (await queue.stats()).acked >= CONSUMED;
    });
    const stats = await queue.stats();
    if (stats.acked !== CONSUMED || stats.visible + stats.inFlight !== 0) {
      throw new Error(`consumed ${JSON.stringify(stats)}`);
    }
    return CONSUMED / seconds;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Jobs per second completed by `processes` BullMQ worker processes. */
async function bullConsume(url: string, processes: number): Promise<number> {
  const name = fresh('bull-consume');
  const queue = new Queue(name, {
    connection: bullConnection(url),
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 1_000 },
  });
  try {
    for (let start = 0; start < CONSUMED; start += BULK) {
      await queue.addBulk(
        Array.from({ length: BULK }, (_, i) => ({ name: 'job', data: { n: start + i } })),
      );
    }
    const seconds = await timeWorkers('bullmq', url, name, processes, async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((count) => count === 0);
    });
    const failed = await queue.getFailedCount();
    if (failed !== 0) throw new Error(`BullMQ failed ${failed} jobs`);
    return CONSUMED / seconds;
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** A worker process: waits for "go" on stdin, consumes until SIGTERM. */
async function worker(kind: Kind, url: string, name: string): Promise<void> {
  const go = () => new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  if (kind === 'bullmq') {
    const bull = new Worker(name, async () => {}, {
      connection: bullConnection(url),
      concurrency: CONCURRENCY,
      autorun: false,
    });
    await bull.waitUntilReady();
    process.on('SIGTERM', () => {
      void bull.close().then(() => process.exit(0));
    });
    process.stdout.write('ready\n');
    await go();
    void bull.run();
    return;
  }
  const connection = new Redis(url);
  const queue = new RedisQueue<{ n: number }>({ connection, name, capacity: Infinity });
  const drain = new AbortController();
  process.on('SIGTERM', () => drain.abort());
  // connected before it says ready, as the BullMQ worker is after waitUntilReady()
  if (connection.status !== 'ready') await once(connection, 'ready');
  process.stdout.write('ready\n');
  await go();
  queue
    .consume(() => undefined, { concurrency: CONCURRENCY, drain: drain.signal })
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

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const rounded = (ratios: readonly number[]) => ratios.map(formatRatio).join(', ');

interface Pair {
  readonly name: string;
  readonly baseline: string;
  readonly target?: string;
  readonly note: string;
  readonly sluice: () => Promise<number>;
  readonly other: () => Promise<number>;
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
    const url = server.url;
    const port = server.port;
    const plain = 'redis-benchmark XADD (50 clients, no pipelining)';
    const piped = 'redis-benchmark XADD (50 clients, 16 per round trip)';
    const pairs: Pair[] = [
      {
        name: `RedisQueue enqueue (1 process, ${IN_FLIGHT} in flight)`,
        baseline: `BullMQ Queue.add (${IN_FLIGHT} in flight)`,
        target: '>= 2x',
        note: 'the enqueues of one turn go out together, 32 per script call',
        sluice: () => sluiceEnqueue(url, false),
        other: () => bullEnqueue(url, false),
      },
      {
        name: `RedisQueue enqueue (${BULK} calls in one turn)`,
        baseline: `BullMQ Queue.addBulk (${BULK} jobs)`,
        target: '>= 2x',
        note: `${BULK} enqueue() calls made together go out as few script calls`,
        sluice: () => sluiceEnqueue(url, true),
        other: () => bullEnqueue(url, true),
      },
    ];
    for (const processes of [1, 4]) {
      const label = `${processes} process${processes > 1 ? 'es' : ''}`;
      pairs.push({
        name: `RedisQueue consume(), ${label}`,
        baseline: `BullMQ Worker, ${label}`,
        target: '>= 2x',
        note: `${CONSUMED / 1000}k preloaded messages, concurrency ${CONCURRENCY} per process, a no-op handler, defaults otherwise; the workers and redis-server share the machine's cores`,
        sluice: () => sluiceConsume(url, processes),
        other: () => bullConsume(url, processes),
      });
    }
    const values = pairs.map(() => ({ sluice: [] as number[], other: [] as number[] }));
    const ceilings = { plain: [] as number[], piped: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, pair] of pairs.entries()) {
        if (only !== undefined && !only.includes(i)) {
          values[i]!.sluice.push(Number.NaN);
          values[i]!.other.push(Number.NaN);
          continue;
        }
        values[i]!.sluice.push(await pair.sluice());
        values[i]!.other.push(await pair.other());
      }
      ceilings.plain.push(xaddCeiling(port, 1));
      ceilings.piped.push(xaddCeiling(port, 16));
    }
    const rows = pairs.map((pair, i) => {
      const { sluice, other } = values[i]!;
      const ratios = sluice.map((v, r) => v / other[r]!);
      return row({
        group,
        name: pair.name,
        unit: 'msg/s',
        value: median(sluice),
        baseline: pair.baseline,
        baselineValue: median(other),
        ...(pair.target === undefined ? {} : { target: pair.target }),
        note: `${pair.note}; rounds: ${rounded(ratios)}`,
      });
    });
    for (const processes of [1, 4]) {
      const ours = serverCost[`sluice:${processes}`] ?? [];
      const theirs = serverCost[`bullmq:${processes}`] ?? [];
      if (ours.length === 0 || theirs.length === 0) continue;
      const label = `${processes} process${processes > 1 ? 'es' : ''}`;
      rows.push(
        row({
          group,
          name: `RedisQueue consume(), ${label}: server time per message`,
          unit: 'us',
          value: median(ours),
          baseline: `BullMQ Worker, ${label}`,
          baselineValue: median(theirs),
          higherIsBetter: false,
          note: `CPU microseconds of redis-server's main thread per message (INFO cpu: commands, scripts and network I/O), from the consume rows' runs; the least noisy comparison on a shared machine; rounds: ${rounded(ours.map((v, r) => v / theirs[r]!))}`,
        }),
      );
    }
    const receiveAck = values[2]!.sluice;
    for (const [baseline, ceiling, target] of [
      [plain, ceilings.plain, '>= 0.5x'],
      [piped, ceilings.piped, undefined],
    ] as const) {
      const ratios = receiveAck.map((v, r) => v / ceiling[r]!);
      rows.push(
        row({
          group,
          name: 'RedisQueue receive + ack via consume(), 1 process',
          unit: 'msg/s',
          value: median(receiveAck),
          baseline,
          baselineValue: median(ceiling),
          ...(target === undefined ? {} : { target }),
          note: `the consume rows' figures beside the server's raw XADD rate; rounds: ${rounded(ratios)}`,
        }),
      );
    }
    return rows;
  } finally {
    await server?.stop();
  }
}

const [, , mode, kind, url, name] = process.argv;
if (mode === 'worker' && (kind === 'sluice' || kind === 'bullmq') && url && name) {
  void worker(kind, url, name);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
