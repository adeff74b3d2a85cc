/**
 * Delivery benchmarks: `atLeastOnce` beside `mergeMap` doing the same deliveries, and the
 * memory and per-message cost of `dedupe` beside RxJS's `distinct`.
 *
 * Targets (the project's own):
 * - `atLeastOnce` with immediate acks, against `mergeMap` doing the same deliveries at the same
 *   concurrency (4), on 10k messages (a backlog small enough that `mergeMap`'s `Array.shift`
 *   is not the bottleneck): at least 0.7x its messages per second. Two kinds of immediate ack
 *   are measured: a synchronous `of(ack)`, and an already-resolved Promise (the ack comes one
 *   microtask later, so each attempt also waits in the ack-deadline line). The baseline is
 *   `mergeMap(deliver, 4)`, the least work that does the same deliveries: no ack deadline,
 *   retry, dead letter or `{ message, ack, attempts }` record. Shown beside it, without a
 *   target: `mergeMap` made to match the output (`take(1)` and the record).
 * - `dedupe` with 1M distinct keys and `maxKeys` 100k: memory flat once the window is full
 *   (the heap it holds after 1M keys against after 200k: at most 1.2x), and per-message cost
 *   O(1) (nanoseconds per message over the last 100k of 1M against the second 100k, when
 *   eviction has started: at most 1.5x). `distinct`, which keeps every key, is shown beside.
 *
 * Runs standalone with `npx tsx bench/delivery.bench.ts` (add `node --expose-gc` through
 * `NODE_OPTIONS=--expose-gc` for the heap rows), or through `npm run bench -- delivery`.
 * @module
 */
import { pathToFileURL } from 'node:url';
import { distinct, from, map, mergeMap, type Observable, of, Subject, take } from 'rxjs';
import { atLeastOnce, dedupe } from '../src/index.js';
import {
  canMeasureHeap,
  compareRates,
  formatTable,
  type Row,
  row,
  settledHeap,
} from './harness.js';

const group = 'delivery';
const CONCURRENCY = 4;
/** The backlog: each timed run delivers batches of this many messages. */
const MESSAGES = 10_000;
const DEDUPE_KEYS = 1_000_000;
const MAX_KEYS = 100_000;

const messages: readonly number[] = Array.from({ length: MESSAGES }, (_, i) => i);

/** Every case sums what it received and checks it, so a broken pipeline cannot look fast. */
function expectSum(sum: number, n: number, what: string): void {
  const expected = (n * (n - 1)) / 2;
  if (sum !== expected) throw new Error(`${what}: acks sum to ${sum}, expected ${expected}`);
}

/** Subscribes and sums the acks; resolves at completion. */
function sumAcks(output: Observable<{ readonly ack: number }>): Promise<number> {
  return new Promise((resolve, reject) => {
    let sum = 0;
    output.subscribe({
      next: (d) => {
        sum += d.ack;
      },
      error: reject,
      complete: () => resolve(sum),
    });
  });
}

const syncAck = (m: number): Observable<number> => of(m);
const promiseAck = (m: number): Promise<number> => Promise.resolve(m);

/** `atLeastOnce` with every option that matters at its default except the buffer, like mergeMap's. */
function viaAtLeastOnce(deliver: (m: number) => Observable<number> | Promise<number>) {
  return (source: Observable<number>) =>
    source.pipe(
      atLeastOnce(deliver, {
        concurrency: CONCURRENCY,
        capacity: Number.POSITIVE_INFINITY,
        ackTimeout: 30_000,
      }),
    );
}

/** The same deliveries through plain `mergeMap`. */
function viaMergeMap(deliver: (m: number) => Observable<number> | Promise<number>) {
  return (source: Observable<number>) =>
    source.pipe(
      mergeMap(deliver, CONCURRENCY),
      map((ack) => ({ ack })),
    );
}

/** The same deliveries through `mergeMap`, made to match the output: first value, same record. */
function viaMergeMapMatching(deliver: (m: number) => Observable<number> | Promise<number>) {
  return (source: Observable<number>) =>
    source.pipe(
      mergeMap(
        (message) =>
          from(deliver(message)).pipe(
            take(1),
            map((ack) => ({ message, ack, attempts: 1 })),
          ),
        CONCURRENCY,
      ),
    );
}

/** A workload that delivers `n` messages, rounded up to whole batches of 10k. */
function batches(
  pipeline: (source: Observable<number>) => Observable<{ readonly ack: number }>,
  what: string,
) {
  return async (n: number): Promise<void> => {
    const rounds = Math.max(1, Math.ceil(n / MESSAGES));
    for (let r = 0; r < rounds; r++) {
      expectSum(await sumAcks(pipeline(from(messages))), MESSAGES, what);
    }
  };
}

async function deliveryRows(): Promise<Row[]> {
  const rates = await compareRates(
    {
      syncAtLeastOnce: batches(viaAtLeastOnce(syncAck), 'atLeastOnce, sync acks'),
      syncMergeMap: batches(viaMergeMap(syncAck), 'mergeMap, sync acks'),
      syncMatching: batches(viaMergeMapMatching(syncAck), 'mergeMap matching, sync acks'),
      promiseAtLeastOnce: batches(viaAtLeastOnce(promiseAck), 'atLeastOnce, promise acks'),
      promiseMergeMap: batches(viaMergeMap(promiseAck), 'mergeMap, promise acks'),
      promiseMatching: batches(viaMergeMapMatching(promiseAck), 'mergeMap matching, promise'),
    },
    { runs: 9, runMs: 200 },
  );
  return [
    row({
      group,
      name: 'atLeastOnce, 10k msgs, sync acks (of)',
      unit: 'msg/s',
      value: rates.syncAtLeastOnce.best,
      baseline: 'mergeMap(deliver, 4)',
      baselineValue: rates.syncMergeMap.best,
      target: '>= 0.7x',
    }),
    row({
      group,
      name: 'atLeastOnce, 10k msgs, resolved-Promise acks',
      unit: 'msg/s',
      value: rates.promiseAtLeastOnce.best,
      baseline: 'mergeMap(deliver, 4)',
      baselineValue: rates.promiseMergeMap.best,
      target: '>= 0.7x',
      note: 'every attempt waits for its ack under a real 30 s ackTimeout (one shared timer for all deadlines); mergeMap has no deadline',
    }),
    row({
      group,
      name: 'atLeastOnce, 10k msgs, sync acks (of)',
      unit: 'msg/s',
      value: rates.syncAtLeastOnce.best,
      baseline: 'mergeMap + take(1) + record',
      baselineValue: rates.syncMatching.best,
    }),
    row({
      group,
      name: 'atLeastOnce, 10k msgs, resolved-Promise acks',
      unit: 'msg/s',
      value: rates.promiseAtLeastOnce.best,
      baseline: 'mergeMap + take(1) + record',
      baselineValue: rates.promiseMatching.best,
    }),
  ];
}

// ---- dedupe: memory and per-message cost -----------------------------------------------

/** Heap held by a live `dedupe`/`distinct` subscription after `keys` distinct keys. */
function heldAfter(keys: number, operator: 'dedupe' | 'distinct'): number {
  const subject = new Subject<number>();
  let passed = 0;
  const before = settledHeap();
  const sub = subject
    .pipe(
      operator === 'dedupe'
        ? dedupe<number>({ maxKeys: MAX_KEYS, ttl: Number.POSITIVE_INFINITY })
        : distinct<number, number>(),
    )
    .subscribe(() => {
      passed++;
    });
  for (let k = 0; k < keys; k++) subject.next(k);
  const after = settledHeap();
  sub.unsubscribe();
  if (passed !== keys) throw new Error(`${operator}: ${passed} of ${keys} distinct keys passed`);
  return after - before;
}

/**
 * Nanoseconds per message for each consecutive 100k slice of 1M distinct keys, best of `runs`
 * runs per slice. The first slice fills the window; from the second on, every message evicts.
 */
function dedupeSlices(runs: number): number[] {
  const slices = DEDUPE_KEYS / MAX_KEYS;
  const best = new Array<number>(slices).fill(Number.POSITIVE_INFINITY);
  for (let run = 0; run < runs; run++) {
    const subject = new Subject<number>();
    let passed = 0;
    const sub = subject.pipe(dedupe<number>({ maxKeys: MAX_KEYS })).subscribe(() => {
      passed++;
    });
    for (let s = 0; s < slices; s++) {
      const start = process.hrtime.bigint();
      const end = (s + 1) * MAX_KEYS;
      for (let k = s * MAX_KEYS; k < end; k++) subject.next(k);
      const ns = Number(process.hrtime.bigint() - start) / MAX_KEYS;
      best[s] = Math.min(best[s]!, ns);
    }
    sub.unsubscribe();
    if (passed !== DEDUPE_KEYS) throw new Error(`dedupe: ${passed} of ${DEDUPE_KEYS} passed`);
  }
  return best;
}

function dedupeRows(): Row[] {
  const rows: Row[] = [];
  const slices = dedupeSlices(3);
  rows.push(
    row({
      group,
      name: 'dedupe ns/msg, keys 900k-1M (evicting)',
      unit: 'ns/msg',
      value: slices[slices.length - 1]!,
      baseline: 'dedupe ns/msg, keys 100k-200k',
      baselineValue: slices[1]!,
      higherIsBetter: false,
      target: '<= 1.5x',
      note: `ns/msg per 100k slice: ${slices.map((s) => s.toFixed(0)).join(', ')}`,
    }),
  );
  if (!canMeasureHeap()) {
    rows.push(
      row({
        group,
        name: 'dedupe heap after 1M keys (maxKeys 100k)',
        unit: 'B',
        value: Number.NaN,
        baseline: 'dedupe heap after 200k keys',
        baselineValue: Number.NaN,
        higherIsBetter: false,
        target: '<= 1.2x',
        note: 'heap rows need node --expose-gc (npm run bench sets it)',
      }),
    );
    return rows;
  }
  const heap = (keys: number, op: 'dedupe' | 'distinct') =>
    Math.min(heldAfter(keys, op), heldAfter(keys, op));
  const series = [100_000, 200_000, 500_000, 1_000_000].map((k) => [k, heap(k, 'dedupe')] as const);
  const at200k = series[1]![1];
  const at1M = series[3]![1];
  rows.push(
    row({
      group,
      name: 'dedupe heap after 1M keys (maxKeys 100k)',
      unit: 'B',
      value: at1M,
      baseline: 'dedupe heap after 200k keys',
      baselineValue: at200k,
      higherIsBetter: false,
      target: '<= 1.2x',
      note: `dedupe heap by keys seen: ${series.map(([k, b]) => `${k / 1000}k ${(b / 1e6).toFixed(1)} MB`).join(', ')}`,
    }),
    row({
      group,
      name: 'dedupe heap after 1M keys (maxKeys 100k)',
      unit: 'B',
      value: at1M,
      baseline: 'distinct() heap after 1M keys',
      baselineValue: heap(1_000_000, 'distinct'),
      higherIsBetter: false,
    }),
  );
  return rows;
}

export async function run(): Promise<Row[]> {
  return [...(await deliveryRows()), ...dedupeRows()];
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
