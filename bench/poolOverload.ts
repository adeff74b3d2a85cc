/**
 * One overload measurement, run by `pool.bench.ts` in a fresh process so that heaps do not
 * interfere: `node --expose-gc --import tsx bench/poolOverload.ts <lib> <messages>`.
 *
 * A synchronous producer (a `Subject` in a loop, which cannot be paused) pushes `messages`
 * numbers at a pool of 4 workers whose jobs finish only after a macrotask, so nothing finishes
 * while the producer runs and every message must be held, dropped or refused:
 *
 * - `workerPool`: capacity 1000, `'drop'` (every dropped message counted via `onOverflow`):
 *   bounded, and lossy;
 * - `workerPool block`: the lossless way, `fromIterable(messages)` into capacity 1000 and
 *   `'block'`: the pool pulls a message only when it has room, so the producer waits instead of
 *   anything being dropped. It runs until every message is processed; the heap is sampled as
 *   messages are pulled;
 * - `mergeMap`: `mergeMap(job, 4)`, whose backlog is an unbounded array;
 * - `p-queue`: `queue.add(() => job(i))` in a loop, concurrency 4;
 * - `fastq`: `queue.push(i, done)` in a loop (the callback API, fastq's leanest), concurrency 4.
 *
 * The heap is sampled every 10k messages; prints one JSON line (`OverloadResult`). The
 * process exits right after the producer: the peak is reached when the last message is
 * pushed (queues only shrink afterwards), and draining a million-job backlog through
 * `mergeMap`'s `Array.shift` would take minutes.
 * @module
 */
import fastq from 'fastq';
import PQueue from 'p-queue';
import { mergeMap, Subject } from 'rxjs';
import { fromIterable, workerPool } from '../src/index.js';

const LIBS = ['workerPool', 'workerPool block', 'mergeMap', 'p-queue', 'fastq'] as const;
/** The pools measured; import this file only with `import type`: it runs when loaded. */
export type Lib = (typeof LIBS)[number];

export interface OverloadResult {
  lib: Lib;
  /** Messages the producer pushed. */
  n: number;
  /** Highest `heapUsed` seen while producing (every 10k messages), minus the settled start. */
  peakHeapBytes: number;
  /** Heap still reachable when the producer is done (after full GCs), minus the settled start. */
  heldHeapBytes: number;
  /**
   * Jobs started or waiting when the producer is done (dropped ones excluded); for
   * `workerPool block`, the most pulled and not yet finished at any sample.
   */
  pending: number;
  /** Messages discarded and reported (workerPool only). */
  dropped: number;
  /** Producer time, in milliseconds. */
  ms: number;
}

const CONCURRENCY = 4;
const CAPACITY = 1000;
const SAMPLE_EVERY = 10_000;

/** A job that finishes a macrotask later, long after a synchronous producer is done. */
const slowJob = (n: number): Promise<number> => new Promise((resolve) => setImmediate(resolve, n));

type Gc = () => void;

function settle(gc: Gc): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** A producer for `lib`: `push(i)` sends one message; `pending()` counts what is held. */
function open(lib: Exclude<Lib, 'workerPool block'>): {
  push(i: number): void;
  pending(): number;
  dropped(): number;
} {
  switch (lib) {
    case 'workerPool': {
      const subject = new Subject<number>();
      let dropped = 0;
      let sent = 0;
      subject
        .pipe(
          workerPool(slowJob, {
            concurrency: CONCURRENCY,
            capacity: CAPACITY,
            overflow: 'drop',
            onOverflow: () => {
              dropped++;
            },
          }),
        )
        .subscribe();
      return {
        push: (i) => {
          sent++;
          subject.next(i);
        },
        pending: () => sent - dropped,
        dropped: () => dropped,
      };
    }
    case 'mergeMap': {
      const subject = new Subject<number>();
      let sent = 0;
      subject.pipe(mergeMap(slowJob, CONCURRENCY)).subscribe();
      return {
        push: (i) => {
          sent++;
          subject.next(i);
        },
        pending: () => sent,
        dropped: () => 0,
      };
    }
    case 'p-queue': {
      const queue = new PQueue({ concurrency: CONCURRENCY });
      return {
        push: (i) => {
          void queue.add(() => slowJob(i));
        },
        pending: () => queue.size + queue.pending,
        dropped: () => 0,
      };
    }
    case 'fastq': {
      const queue = fastq<unknown, number, number>((n, done) => {
        slowJob(n).then((v) => done(null, v), done);
      }, CONCURRENCY);
      const done = (): void => {};
      return {
        push: (i) => queue.push(i, done),
        pending: () => queue.length() + queue.running(),
        dropped: () => 0,
      };
    }
  }
}

function measure(lib: Exclude<Lib, 'workerPool block'>, n: number, gc: Gc): OverloadResult {
  const start = settle(gc);
  const started = process.hrtime.bigint();
  const producer = open(lib);
  let peak = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    producer.push(i);
    if ((i + 1) % SAMPLE_EVERY === 0) {
      const used = process.memoryUsage().heapUsed;
      if (used > peak) peak = used;
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const end = process.memoryUsage().heapUsed;
  if (end > peak) peak = end;
  const held = settle(gc);
  return {
    lib,
    n,
    peakHeapBytes: peak - start,
    heldHeapBytes: held - start,
    pending: producer.pending(),
    dropped: producer.dropped(),
    ms,
  };
}

/** `fromIterable` into a `'block'` pool: pulled on demand, run until every job is done. */
async function measurePulled(n: number, gc: Gc): Promise<OverloadResult> {
  const start = settle(gc);
  const started = process.hrtime.bigint();
  let peak = process.memoryUsage().heapUsed;
  let pulled = 0;
  let finished = 0;
  let held = 0;
  function* messages(): Generator<number> {
    for (let i = 0; i < n; i++) {
      if (++pulled % SAMPLE_EVERY === 0) {
        const used = process.memoryUsage().heapUsed;
        if (used > peak) peak = used;
        held = Math.max(held, pulled - finished);
      }
      yield i;
    }
  }
  let sum = 0;
  await new Promise<void>((resolve, reject) => {
    fromIterable(messages())
      .pipe(
        workerPool(slowJob, { concurrency: CONCURRENCY, capacity: CAPACITY, overflow: 'block' }),
      )
      .subscribe({
        next: (v) => {
          finished++;
          sum += v;
        },
        error: reject,
        complete: resolve,
      });
  });
  if (finished !== n || sum !== (n * (n - 1)) / 2) {
    throw new Error(`workerPool block: ${finished} of ${n} jobs finished, sum ${sum}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const end = process.memoryUsage().heapUsed;
  if (end > peak) peak = end;
  return {
    lib: 'workerPool block',
    n,
    peakHeapBytes: peak - start,
    heldHeapBytes: settle(gc) - start,
    pending: held,
    dropped: 0,
    ms,
  };
}

async function main(): Promise<void> {
  const [lib, count] = process.argv.slice(2);
  const n = Number(count);
  if (!LIBS.includes(lib as Lib) || !Number.isInteger(n) || n <= 0) {
    throw new Error(`usage: poolOverload.ts <${LIBS.join('|')}> <messages>`);
  }
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') throw new Error('poolOverload.ts needs node --expose-gc');
  const result =
    lib === 'workerPool block'
      ? await measurePulled(n, gc as Gc)
      : measure(lib as Exclude<Lib, 'workerPool block'>, n, gc as Gc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Leave the backlog undrained: see the module comment.
  process.exit(0);
}

await main();
