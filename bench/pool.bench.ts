/**
 * Worker-pool benchmarks: `workerPool` beside `mergeMap`, p-queue, fastq, Effect's `forEach`
 * and hand-written async loops, measured in one run and reported as ratios.
 *
 * Targets (the project's own):
 * - `fromIterable(jobs).pipe(workerPool(job, { concurrency: 4 }))` on 200k already-resolved
 *   async jobs: at least 2x Effect's `forEach` with `{ concurrency: 4 }` and at least 5x fastq;
 *   `ordered: true` at least 0.8x of unordered. `mergeMap(job, 4)` is shown at 10k and 200k
 *   jobs (its backlog is drained with `Array.shift`, so its rate falls with the backlog), and
 *   four hand-written async loops over an array index are the practical limit. p-queue is
 *   shown as its users feed it (`await queue.onSizeLessThan(100)` before each `add`), and
 *   unpaced (all 200k `add`ed at once), where its backlog slows it down.
 * - Memory under overload: a synchronous producer of up to 1M messages into `workerPool` with
 *   concurrency 4, capacity 1000 and `'drop'`: the peak heap stays flat, within 5 MB, from 100k
 *   to 1M messages. That pool is lossy (it drops what does not fit); the lossless way,
 *   `fromIterable` into a `'block'` pool, is measured beside it and held to the same 5 MB.
 *   `mergeMap`, p-queue and fastq, which queue without bound, are measured in the same run,
 *   each run in a fresh process (`poolOverload.ts`).
 *
 * The overload series (peak heap per library and message count) are rows named
 * `overload series: <lib>, <n> msgs` and, after `run()`, the `overloadSeries` export.
 * @module
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Effect } from 'effect';
import fastq from 'fastq';
import PQueue from 'p-queue';
import { from, mergeMap, type Observable } from 'rxjs';
import { fromIterable, workerPool } from '../src/index.js';
import { formatNumber, type Row, row } from './harness.js';
import type { Lib, OverloadResult } from './poolOverload.js';

const group = 'pool';
const CONCURRENCY = 4;
/** The job count, and the smaller backlog at which `mergeMap` is also shown. */
const JOBS = 200_000;
const SMALL_JOBS = 10_000;
/** Timed rounds of the fast cases (about 1 s a round). */
const ROUNDS = 8;
/** The paced p-queue waits while this many jobs are waiting. */
const PACE = 100;
/** Keys of the keyed pool: few enough that a job's key is often busy and it waits its turn. */
const KEYS = 64;

/** An already-resolved async job: what the pool itself costs, not the work. */
const job = (n: number): Promise<number> => Promise.resolve(n);

const jobs: readonly number[] = Array.from({ length: JOBS }, (_, i) => i);
const smallJobs: readonly number[] = jobs.slice(0, SMALL_JOBS);

/** Every case sums the results it received and checks them, so a broken pool cannot look fast. */
function expectSum(sum: number, n: number, what: string): void {
  const expected = (n * (n - 1)) / 2;
  if (sum !== expected) throw new Error(`${what}: results sum to ${sum}, expected ${expected}`);
}

function sumOf(results: Observable<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    let sum = 0;
    results.subscribe({
      next: (v) => {
        sum += v;
      },
      error: reject,
      complete: () => resolve(sum),
    });
  });
}

// ---- throughput: 200k already-resolved jobs at concurrency 4 -----------------------------

/** One timed case: runs `jobs` jobs to completion. */
interface Case {
  readonly jobs: number;
  run(): Promise<void>;
}

const cases = {
  workerPool: {
    jobs: JOBS,
    async run() {
      const sum = await sumOf(
        fromIterable(jobs).pipe(workerPool(job, { concurrency: CONCURRENCY })),
      );
      expectSum(sum, JOBS, 'workerPool');
    },
  },
  workerPoolOrdered: {
    jobs: JOBS,
    async run() {
      let expected = 0;
      let sum = 0;
      await new Promise<void>((resolve, reject) => {
        fromIterable(jobs)
          .pipe(workerPool(job, { concurrency: CONCURRENCY, ordered: true }))
          .subscribe({
            next: (v) => {
              if (v !== expected++) reject(new Error(`ordered workerPool: got ${v} out of order`));
              sum += v;
            },
            error: reject,
            complete: resolve,
          });
      });
      expectSum(sum, JOBS, 'workerPool ordered');
    },
  },
  /** Per-key order: jobs of a key one at a time, different keys beside each other. */
  workerPoolKeyed: {
    jobs: JOBS,
    async run() {
      const sum = await sumOf(
        fromIterable(jobs).pipe(
          workerPool(job, { concurrency: CONCURRENCY, key: (n: number) => n % KEYS }),
        ),
      );
      expectSum(sum, JOBS, 'workerPool keyed');
    },
  },
  /** `mergeMap` on a 10k backlog, twenty times in a row: as many jobs as the others run. */
  mergeMapSmall: {
    jobs: JOBS,
    async run() {
      for (let round = 0; round < JOBS / SMALL_JOBS; round++) {
        const sum = await sumOf(from(smallJobs).pipe(mergeMap(job, CONCURRENCY)));
        expectSum(sum, SMALL_JOBS, 'mergeMap 10k');
      }
    },
  },
  effectForEach: {
    jobs: JOBS,
    async run() {
      const results = await Effect.runPromise(
        Effect.forEach(jobs, (n) => Effect.promise(() => job(n)), { concurrency: CONCURRENCY }),
      );
      let sum = 0;
      for (const v of results) sum += v;
      expectSum(sum, JOBS, 'Effect.forEach');
    },
  },
  /** fastq's promise API: `push(job)` returns the job's result. */
  fastqPromise: {
    jobs: JOBS,
    async run() {
      const queue = fastq.promise(job, CONCURRENCY);
      let sum = 0;
      const add = (v: number): void => {
        sum += v;
      };
      for (const n of jobs) void queue.push(n).then(add);
      await queue.drained();
      // `drained` fires when the last job finished; its `then` ran just before.
      expectSum(sum, JOBS, 'fastq promise');
    },
  },
  /** fastq's callback API, its leanest: no promise per push. */
  fastqCallback: {
    jobs: JOBS,
    async run() {
      let sum = 0;
      await new Promise<void>((resolve, reject) => {
        const queue = fastq<unknown, number, number>((n, done) => {
          job(n).then((v) => done(null, v), done);
        }, CONCURRENCY);
        const onResult = (err: Error | null, v?: number): void => {
          if (err) reject(err);
          else sum += v!;
        };
        queue.drain = resolve;
        for (const n of jobs) queue.push(n, onResult);
      });
      expectSum(sum, JOBS, 'fastq callback');
    },
  },
  /**
   * p-queue fed as its users do: wait until fewer than 100 jobs are waiting before each `add`,
   * so its backlog stays short.
   */
  pQueuePaced: {
    jobs: JOBS,
    async run() {
      const queue = new PQueue({ concurrency: CONCURRENCY });
      let sum = 0;
      const add = (v: number | void): void => {
        sum += v as number;
      };
      for (const n of jobs) {
        await queue.onSizeLessThan(PACE);
        void queue.add(() => job(n)).then(add);
      }
      await queue.onIdle();
      expectSum(sum, JOBS, 'p-queue paced');
    },
  },
  /** The practical limit: four async loops sharing an index into the array. */
  loops: {
    jobs: JOBS,
    async run() {
      let next = 0;
      let sum = 0;
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const v = await job(jobs[next++]!);
          sum += v;
        }
      };
      const workers: Promise<void>[] = [];
      for (let w = 0; w < CONCURRENCY; w++) workers.push(worker());
      await Promise.all(workers);
      expectSum(sum, JOBS, 'hand-written loops');
    },
  },
} satisfies Record<string, Case>;

/**
 * p-queue on `list`: `add()` per job, its result taken from the promise `add` returns. Its
 * backlog is an array of entries drained with `Array.shift`, so like `mergeMap` it slows down
 * as the backlog grows.
 */
function pQueueOn(list: readonly number[]): Case {
  return {
    jobs: list.length,
    async run() {
      const queue = new PQueue({ concurrency: CONCURRENCY });
      let sum = 0;
      const add = (v: number | void): void => {
        sum += v as number;
      };
      for (const n of list) void queue.add(() => job(n)).then(add);
      await queue.onIdle();
      expectSum(sum, list.length, 'p-queue');
    },
  };
}

/**
 * Too slow to run every round (`mergeMap` about 3 s a run, p-queue 20 s and more): measured
 * after the others, fewer times, warmed up by the 10k runs.
 */
const slow = {
  mergeMapLarge: {
    jobs: JOBS,
    async run() {
      const sum = await sumOf(from(jobs).pipe(mergeMap(job, CONCURRENCY)));
      expectSum(sum, JOBS, 'mergeMap 200k');
    },
  },
  pQueue: pQueueOn(jobs),
  pQueueWarmUp: pQueueOn(smallJobs),
} satisfies Record<string, Case>;

async function timeOnce(c: Case): Promise<number> {
  const start = process.hrtime.bigint();
  await c.run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return (c.jobs * 1000) / ms;
}

/** Jobs per second of one case over its timed runs. */
interface Rate {
  /** The fastest run: the least disturbed by other processes. */
  readonly best: number;
  readonly median: number;
}

/**
 * Jobs per second, best and median of `runs`: one warm-up run each, then the timed runs
 * round-robin (a, b, c, a, b, c, ...) so that a slow moment of the machine hits every case
 * alike. Fixed job counts rather than the harness's calibrated ones: `mergeMap`'s rate depends
 * on them.
 */
async function rates<K extends string>(
  all: Readonly<Record<K, Case>>,
  runs: number,
  warmUp = true,
): Promise<Record<K, Rate>> {
  const names = Object.keys(all) as K[];
  if (warmUp) for (const name of names) await all[name].run();
  const samples = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < runs; round++) {
    for (const name of names) samples.get(name)!.push(await timeOnce(all[name]));
  }
  const out = {} as Record<K, Rate>;
  for (const name of names) {
    const sorted = samples.get(name)!.sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    out[name] = { best: sorted[sorted.length - 1]!, median };
  }
  return out;
}

async function throughputRows(): Promise<Row[]> {
  const measured = await rates(cases, ROUNDS);
  const rate = {} as Record<keyof typeof cases, number>;
  for (const [k, v] of Object.entries<Rate>(measured)) rate[k as keyof typeof cases] = v.best;
  const large = await rates({ mergeMapLarge: slow.mergeMapLarge }, 2, false);
  const mergeMapLarge = large.mergeMapLarge.best;
  await slow.pQueueWarmUp.run();
  const pQueue = (await rates({ pQueue: slow.pQueue }, 1, false)).pQueue.best;
  const unit = 'jobs/s';
  const name = `fromIterable → workerPool(c=4), ${JOBS / 1000}k jobs`;
  const pool = rate.workerPool;
  const vs = (baseline: string, baselineValue: number, target?: string, note?: string): Row =>
    row({
      group,
      name,
      unit,
      value: pool,
      baseline,
      baselineValue,
      ...(target === undefined ? {} : { target }),
      ...(note === undefined ? {} : { note }),
    });
  return [
    vs('Effect.forEach(jobs, f, { concurrency: 4 })', rate.effectForEach, '>= 2x'),
    vs(
      'fastq.promise(job, 4): push(n).then(...), promise API',
      rate.fastqPromise,
      '>= 5x',
      "fastq's promise API, as most code calls it; fastq is also checked with its callback " +
        'API below',
    ),
    vs(
      'fastq(worker, 4): push(n, done), callback API',
      rate.fastqCallback,
      '>= 5x',
      `fastq's leanest form, no promise per job; 5x it is ${formatNumber(5 * rate.fastqCallback)} ` +
        `jobs/s, the four hand-written loops ran at ${formatNumber(rate.loops)} jobs/s`,
    ),
    row({
      group,
      name: `workerPool(c=4, ordered: true), ${JOBS / 1000}k jobs`,
      unit,
      value: rate.workerPoolOrdered,
      baseline: 'workerPool(c=4), unordered',
      baselineValue: pool,
      target: '>= 0.8x',
      note:
        `best of ${ROUNDS} runs each; medians ${formatNumber(measured.workerPoolOrdered.median)} ` +
        `and ${formatNumber(measured.workerPool.median)} jobs/s, ratio ` +
        (measured.workerPoolOrdered.median / measured.workerPool.median).toFixed(2),
    }),
    row({
      group,
      name: `workerPool(c=4, key: n % ${KEYS}), ${JOBS / 1000}k jobs`,
      unit,
      value: rate.workerPoolKeyed,
      baseline: 'workerPool(c=4), no key',
      baselineValue: pool,
      note:
        `what per-key order costs: every job goes through its key's lane; best of ${ROUNDS} ` +
        `runs each; medians ${formatNumber(measured.workerPoolKeyed.median)} and ` +
        `${formatNumber(measured.workerPool.median)} jobs/s, ratio ` +
        (measured.workerPoolKeyed.median / measured.workerPool.median).toFixed(2),
    }),
    vs(`from(jobs) → mergeMap(job, 4), ${SMALL_JOBS / 1000}k jobs (x20)`, rate.mergeMapSmall),
    vs(`from(jobs) → mergeMap(job, 4), ${JOBS / 1000}k jobs`, mergeMapLarge),
    vs(
      `p-queue(c=4), paced as its users do: await onSizeLessThan(${PACE}) before each add`,
      rate.pQueuePaced,
      undefined,
      `the fair comparison with p-queue: its backlog never exceeds ${PACE} jobs`,
    ),
    vs(
      `p-queue(c=4), unpaced: all ${JOBS / 1000}k add()ed at once`,
      pQueue,
      undefined,
      `what happens without pacing, not how p-queue is meant to be fed: one timed run ` +
        `(${(JOBS / pQueue).toFixed(1)} s); its backlog is an array drained with Array.shift, ` +
        'as in mergeMap',
    ),
    vs('4 hand-written async loops over an index (practical limit)', rate.loops),
  ];
}

// ---- memory under overload ----------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));
const OVERLOAD_LIBS: readonly Lib[] = [
  'workerPool',
  'workerPool block',
  'mergeMap',
  'p-queue',
  'fastq',
];
const OVERLOAD_SIZES = [100_000, 250_000, 500_000, 1_000_000] as const;
const FLAT_LIMIT_MB = 5;
const MB = 1024 * 1024;

/** Peak heap per library and message count, filled in by `run()`: the data of a heap chart. */
export const overloadSeries: { lib: Lib; n: number; peakHeapBytes: number }[] = [];

const count = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1000}k`);

/** Runs `poolOverload.ts` in a fresh node with `--expose-gc`, returning its JSON line. */
function overloadOnce(lib: Lib, n: number): Promise<OverloadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(here, 'poolOverload.ts'), lib, String(n)],
      { cwd: dirname(here), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`poolOverload ${lib} ${n} exited with ${code ?? signal}: ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as OverloadResult);
      } catch {
        reject(new Error(`poolOverload ${lib} ${n} printed no result: ${out}${err}`));
      }
    });
  });
}

/** Every (lib, n) in its own process, two at a time: heap figures do not mind sharing a CPU. */
async function overloadAll(): Promise<OverloadResult[]> {
  // p-queue first, largest first: its million-message run is the longest, so lanes end together.
  const todo = [...OVERLOAD_LIBS]
    .reverse()
    .flatMap((lib) => [...OVERLOAD_SIZES].reverse().map((n) => ({ lib, n })));
  const results: OverloadResult[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < todo.length) {
      const { lib, n } = todo[next++]!;
      results.push(await overloadOnce(lib, n));
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

async function overloadRows(): Promise<Row[]> {
  const results = await overloadAll();
  const get = (lib: Lib, n: number): OverloadResult => {
    const found = results.find((r) => r.lib === lib && r.n === n);
    if (found === undefined) throw new Error(`no overload result for ${lib} at ${n}`);
    return found;
  };
  const first = OVERLOAD_SIZES[0];
  const last = OVERLOAD_SIZES[OVERLOAD_SIZES.length - 1]!;
  const span = `${count(first)} → ${count(last)} msgs`;
  const growth = (lib: Lib): number =>
    (get(lib, last).peakHeapBytes - get(lib, first).peakHeapBytes) / MB;
  /** Reachable heap per job held, from the settled heaps at both ends of the range. */
  const perPending = (lib: Lib): number =>
    (get(lib, last).heldHeapBytes - get(lib, first).heldHeapBytes) /
    (get(lib, last).pending - get(lib, first).pending);

  overloadSeries.length = 0;
  for (const r of results)
    overloadSeries.push({ lib: r.lib, n: r.n, peakHeapBytes: r.peakHeapBytes });
  overloadSeries.sort(
    (a, b) => OVERLOAD_LIBS.indexOf(a.lib) - OVERLOAD_LIBS.indexOf(b.lib) || a.n - b.n,
  );

  const pool = get('workerPool', last);
  const poolName = `workerPool(c=4, capacity 1000, 'drop'): peak heap growth, ${span}`;
  const rows: Row[] = [
    row({
      group,
      name: poolName,
      unit: 'MB',
      value: growth('workerPool'),
      baseline: 'a limit the project sets itself',
      baselineValue: FLAT_LIMIT_MB,
      higherIsBetter: false,
      target: '<= 1x',
      note:
        `synchronous Subject producer; peak = highest heapUsed sampled every 10k messages minus ` +
        `the settled heap at start, each N in a fresh node --expose-gc; at ${count(last)} msgs ` +
        `${pool.pending} jobs held, ${pool.dropped} dropped and reported, ` +
        `${(pool.heldHeapBytes / 1024).toFixed(0)} kB reachable after GC (the peak is mostly ` +
        'short-lived garbage of Subject.next, the same at every N); lossy: ' +
        `${((100 * pool.dropped) / last).toFixed(1)}% of the messages were dropped`,
    }),
    row({
      group,
      name: `fromIterable → workerPool(c=4, capacity 1000, 'block'): peak heap growth, ${span}`,
      unit: 'MB',
      value: growth('workerPool block'),
      baseline: 'a limit the project sets itself',
      baselineValue: FLAT_LIMIT_MB,
      higherIsBetter: false,
      target: '<= 1x',
      note:
        'lossless: the producer waits for the pool (fromIterable is pulled on demand), every ' +
        `message is processed and none dropped; at most ${get('workerPool block', last).pending} ` +
        'pulled and unfinished at a sample; the run goes on until every job is done',
    }),
  ];
  for (const peer of OVERLOAD_LIBS.filter((lib) => !lib.startsWith('workerPool'))) {
    rows.push(
      row({
        group,
        name: poolName,
        unit: 'MB',
        value: growth('workerPool'),
        baseline: `${peer === 'mergeMap' ? 'mergeMap(job, 4)' : peer}: same growth`,
        baselineValue: growth(peer),
        higherIsBetter: false,
        note: `${peer}: ${perPending(peer).toFixed(0)} bytes reachable per pending job (after GC), ${get(peer, last).pending} pending at ${count(last)} msgs`,
      }),
    );
  }
  for (const point of overloadSeries) {
    rows.push(
      row({
        group,
        name: `overload series: ${point.lib}, ${count(point.n)} msgs`,
        unit: 'MB',
        value: point.peakHeapBytes / MB,
        baseline: `same, ${count(first)} msgs`,
        baselineValue: get(point.lib, first).peakHeapBytes / MB,
        higherIsBetter: false,
      }),
    );
  }
  return rows;
}

/** The pool rows: throughput first (nothing else running), then the overload processes. */
export async function run(): Promise<Row[]> {
  const throughput = await throughputRows();
  const overload = await overloadRows();
  return [...throughput, ...overload];
}
