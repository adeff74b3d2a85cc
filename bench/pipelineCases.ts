/**
 * The four-stage pipeline of `pipeline.bench.ts`, built three ways over the same jobs:
 *
 *   source → workerPool(parse, 8) → map(toOrder) → atLeastOnce(deliver, 4) → workerPool(settle, 2, ordered)
 *
 * - sluice: `fromIterable` and the stages in one `pipe()`;
 * - Effect: `Stream.fromIterable` → `Stream.mapEffect(f, { concurrency })` per stage, as
 *   Effect's documentation recommends for effectful stages with bounded concurrency (unordered
 *   where the sluice stage is unordered);
 * - RxJS: `from` → `mergeMap(f, concurrency)` per stage (the last one unordered: RxJS has no
 *   ordered concurrent map).
 *
 * Jobs are already-resolved promises, as in the pool bench, so the figures are the cost of the
 * pipeline itself. Every case sums the ids it received, so a broken pipeline cannot look fast.
 * @module
 */
import { Effect, Stream } from 'effect';
import { from, map, mergeMap, type Observable } from 'rxjs';
import { atLeastOnce, fromIterable, workerPool } from '../src/index.js';

export interface Order {
  readonly id: number;
  readonly total: number;
}

export const parse = (n: number): Promise<number> => Promise.resolve(n);
export const toOrder = (n: number): Order => ({ id: n, total: n * 2 });
export const deliver = (_order: Order): Promise<'ack'> => Promise.resolve('ack');
export const settle = (order: Order): Promise<number> => Promise.resolve(order.id);

/** 0..n-1, produced lazily: the input itself holds no memory. */
export function* ids(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

export function sluicePipeline(source: Iterable<number>): Observable<number> {
  return fromIterable(source).pipe(
    workerPool(parse, { concurrency: 8 }),
    map(toOrder),
    atLeastOnce(deliver, { concurrency: 4 }),
    map((delivered) => delivered.message),
    workerPool(settle, { concurrency: 2, ordered: true }),
  );
}

export function rxjsPipeline(source: Iterable<number>): Observable<number> {
  return from(source).pipe(
    mergeMap(parse, 8),
    map(toOrder),
    mergeMap((order) => deliver(order).then(() => order), 4),
    mergeMap(settle, 2),
  );
}

export function effectPipeline(source: Iterable<number>): Effect.Effect<number> {
  return Stream.fromIterable(source).pipe(
    Stream.mapEffect((n) => Effect.promise(() => parse(n)), { concurrency: 8, unordered: true }),
    Stream.map(toOrder),
    Stream.mapEffect((order) => Effect.promise(() => deliver(order)).pipe(Effect.as(order)), {
      concurrency: 4,
      unordered: true,
    }),
    Stream.mapEffect((order) => Effect.promise(() => settle(order)), { concurrency: 2 }),
    Stream.runFold(
      () => 0,
      (sum, id) => sum + id,
    ),
  );
}

/** Sums what an Observable emits. */
export function sumOf(results: Observable<number>): Promise<number> {
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

export function expectSum(sum: number, n: number, what: string): void {
  const expected = (n * (n - 1)) / 2;
  if (sum !== expected) throw new Error(`${what}: ids sum to ${sum}, expected ${expected}`);
}
