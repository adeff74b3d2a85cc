/**
 * One memory measurement of the four-stage pipeline, run by `pipeline.bench.ts` in a fresh
 * process so that heaps do not interfere:
 * `node --expose-gc --import tsx bench/pipelineOverload.ts <lib> <messages>`.
 *
 * The producer is synchronous and as fast as it can be (a generator of ids, holding no memory
 * itself); the stages' jobs are already-resolved promises (`pipelineCases.ts`).
 *
 * - `sluice`: `fromIterable` pulled through the stages; the heap is sampled every 10k messages
 *   reaching the end, until all have, and the peak is the highest sample;
 * - `mergeMap`: `from` pushes every id into the first `mergeMap` at once, whose backlog is an
 *   unbounded array; the peak is reached when the producer is done (sampled then, and every
 *   10k messages pushed), and the process exits there: draining a million-message backlog
 *   through `Array.shift` would take minutes.
 *
 * Prints one JSON line (`PipelineOverloadResult`).
 * @module
 */
import { tap } from 'rxjs';
import { ids, rxjsPipeline, sluicePipeline } from './pipelineCases.js';

const LIBS = ['sluice', 'mergeMap'] as const;
/** The pipelines measured; import this file only with `import type`: it runs when loaded. */
export type PipelineLib = (typeof LIBS)[number];

export interface PipelineOverloadResult {
  lib: PipelineLib;
  /** Messages the producer made. */
  n: number;
  /** Highest `heapUsed` sampled, minus the settled heap at start. */
  peakHeapBytes: number;
  /** Messages that had reached the end of the pipeline when the peak was measured. */
  finished: number;
  ms: number;
}

const SAMPLE_EVERY = 10_000;

type Gc = () => void;

function settle(gc: Gc): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const lib = process.argv[2] as PipelineLib;
  const n = Number(process.argv[3]);
  if (!LIBS.includes(lib) || !Number.isInteger(n) || n < 1) {
    throw new Error(
      `usage: pipelineOverload.ts <${LIBS.join('|')}> <messages>, got ${process.argv.slice(2)}`,
    );
  }
  const gc = (globalThis as { gc?: Gc }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const start = settle(gc);
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - start);
  };
  let finished = 0;
  const began = performance.now();
  if (lib === 'sluice') {
    await new Promise<void>((resolve, reject) => {
      sluicePipeline(ids(n)).subscribe({
        next: () => {
          if (++finished % SAMPLE_EVERY === 0) sample();
        },
        error: reject,
        complete: resolve,
      });
    });
    if (finished !== n) throw new Error(`sluice: ${finished} of ${n} messages came out`);
  } else {
    let pushed = 0;
    const counted = (function* () {
      for (const id of ids(n)) {
        if (++pushed % SAMPLE_EVERY === 0) sample();
        yield id;
      }
    })();
    const subscription = rxjsPipeline(counted)
      .pipe(tap(() => finished++))
      .subscribe();
    sample(); // `from` has pushed everything: the backlog is complete
    subscription.unsubscribe();
  }
  sample();
  const result: PipelineOverloadResult = {
    lib,
    n,
    peakHeapBytes: peak,
    finished,
    ms: performance.now() - began,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

await main();
