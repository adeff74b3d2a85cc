/**
 * Flow control benchmarks: the per-message cost of `rateLimit` and `batch` beside the nearest
 * RxJS constructions, on a synchronous source of 10k messages per subscription (every case
 * sums what it received and checks it).
 *
 * - `rateLimit` with a limit that never binds (its cost is the bookkeeping: the sliding log, one
 *   binary search per window per message) beside RxJS's sliding-window recipe,
 *   `mergeMap(x => concat(of(x), timer(interval).pipe(ignoreElements())), limit)` (each message
 *   holds one of `limit` slots for `interval`), which is the same rule, ended by `take` at the
 *   last message (so neither waits for its window to pass). Target: at least as fast.
 *   Shown beside, without a target: the same source with no operator at all.
 * - `batch({ size: 100, time })` beside `bufferTime(time, null, 100)`, the RxJS operator with a
 *   size bound. Target: at least 0.5x (batch also keeps the demand protocol, which bufferTime
 *   has no notion of). Shown beside, without a target: `batch` over `fromIterable`, a pull
 *   source, which it asks for one batch at a time.
 *
 * Runs standalone with `npx tsx bench/flow.bench.ts`, or through `npm run bench -- flow`.
 * @module
 */
import { pathToFileURL } from 'node:url';
import {
  bufferTime,
  concat,
  from,
  ignoreElements,
  mergeMap,
  type Observable,
  of,
  take,
  timer,
} from 'rxjs';
import { batch, fromIterable, rateLimit } from '../src/index.js';
import { compareRates, formatTable, type Row, row } from './harness.js';

const group = 'flow';
const MESSAGES = 10_000;
/** A limit that never binds: the cost measured is the bookkeeping, not waiting. */
const LIMIT = 1_000_000_000;
const INTERVAL = 1_000;
const SIZE = 100;

const messages: readonly number[] = Array.from({ length: MESSAGES }, (_, i) => i);
const EXPECTED = (MESSAGES * (MESSAGES - 1)) / 2;

function sum(output: Observable<number>, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let total = 0;
    output.subscribe({
      next: (n) => {
        total += n;
      },
      error: reject,
      complete: () =>
        total === EXPECTED
          ? resolve()
          : reject(new Error(`${what}: sum ${total}, expected ${EXPECTED}`)),
    });
  });
}

/** Sums the batches' messages; `allowEmpty` for `bufferTime`, which closes with an empty one. */
function sumBatches(
  output: Observable<readonly number[]>,
  what: string,
  allowEmpty = false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let total = 0;
    output.subscribe({
      next: (b) => {
        if ((b.length === 0 && !allowEmpty) || b.length > SIZE) {
          reject(new Error(`${what}: batch of ${b.length}`));
        }
        for (const n of b) total += n;
      },
      error: reject,
      complete: () =>
        total === EXPECTED
          ? resolve()
          : reject(new Error(`${what}: sum ${total}, expected ${EXPECTED}`)),
    });
  });
}

/** Runs `once` for every `MESSAGES` of the `n` messages a workload is asked to move. */
const times =
  (once: () => Promise<void>) =>
  async (n: number): Promise<void> => {
    for (let done = 0; done < n; done += MESSAGES) await once();
  };

async function rateLimitRows(): Promise<Row[]> {
  const r = await compareRates({
    rateLimit: times(() =>
      sum(from(messages).pipe(rateLimit({ limit: LIMIT, interval: INTERVAL })), 'rateLimit'),
    ),
    mergeMap: times(() =>
      sum(
        from(messages).pipe(
          mergeMap(
            (x) => concat(of(x), timer(INTERVAL).pipe(ignoreElements())),
            LIMIT, // the sliding-window recipe: each message holds a slot for INTERVAL
          ),
          take(MESSAGES), // done at the last message, not when the last slot frees
        ),
        'mergeMap',
      ).then(() => undefined),
    ),
    none: times(() => sum(from(messages), 'no operator')),
  });
  return [
    row({
      group,
      name: 'rateLimit (limit not reached) → subscriber',
      unit: 'msg/s',
      value: r.rateLimit.best,
      baseline: 'mergeMap(x => concat(of(x), timer(interval)), limit)',
      baselineValue: r.mergeMap.best,
      target: '>= 1x',
      note: 'the same sliding-window rule in RxJS: every message holds one of limit slots for the interval',
    }),
    row({
      group,
      name: 'rateLimit (limit not reached) → subscriber',
      unit: 'msg/s',
      value: r.rateLimit.best,
      baseline: 'no operator',
      baselineValue: r.none.best,
      note: 'what the bookkeeping costs per message, beside the bare source',
    }),
  ];
}

async function batchRows(): Promise<Row[]> {
  const r = await compareRates({
    batch: times(() => sumBatches(from(messages).pipe(batch({ size: SIZE, time: 1000 })), 'batch')),
    batchPull: times(() =>
      sumBatches(fromIterable(messages).pipe(batch({ size: SIZE, time: 1000 })), 'batch (pull)'),
    ),
    bufferTime: times(() =>
      sumBatches(from(messages).pipe(bufferTime(1000, null, SIZE)), 'bufferTime', true),
    ),
  });
  return [
    row({
      group,
      name: `batch({ size: ${SIZE} }) → subscriber`,
      unit: 'msg/s',
      value: r.batch.best,
      baseline: `bufferTime(t, null, ${SIZE})`,
      baselineValue: r.bufferTime.best,
      target: '>= 0.5x',
      note: 'both over a synchronous from(array)',
    }),
    row({
      group,
      name: `fromIterable → batch({ size: ${SIZE} }) → subscriber`,
      unit: 'msg/s',
      value: r.batchPull.best,
      baseline: `bufferTime(t, null, ${SIZE})`,
      baselineValue: r.bufferTime.best,
      note: 'batch pulling its source one batch at a time',
    }),
  ];
}

export async function run(): Promise<Row[]> {
  return [...(await rateLimitRows()), ...(await batchRows())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
