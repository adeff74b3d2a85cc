/**
 * Pipeline benchmarks: a four-stage pipeline, the first one a user writes,
 *
 *   fromIterable → workerPool(parse, 8) → map(toOrder) → atLeastOnce(deliver, 4) → workerPool(settle, 2, ordered)
 *
 * beside the same pipeline in Effect `Stream` (`mapEffect` with `concurrency`, as Effect's
 * documentation recommends) and in RxJS `mergeMap`s (`pipelineCases.ts` builds all three).
 *
 * Targets the project sets itself for a pipeline of stages:
 * - throughput: at least 2x Effect's;
 * - memory: the peak heap grows by at most 5 MB from 100k to 1M messages. The `mergeMap`
 *   chain, fed by the same synchronous producer, grows with every message: measured in the
 *   same run, each point in a fresh process (`pipelineOverload.ts`).
 * @module
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Effect } from 'effect';
import { formatNumber, type Row, row } from './harness.js';
import {
  effectPipeline,
  expectSum,
  ids,
  rxjsPipeline,
  sluicePipeline,
  sumOf,
} from './pipelineCases.js';
import type { PipelineLib, PipelineOverloadResult } from './pipelineOverload.js';

const group = 'pipeline';
const NAME = 'fromIterable → workerPool(8) → map → atLeastOnce(4) → workerPool(2, ordered)';
/** Messages per timed run. Effect's run is shorter: its rate does not depend on the count. */
const SLUICE_MESSAGES = 200_000;
const EFFECT_MESSAGES = 10_000;
/** `mergeMap`'s backlog is drained with `Array.shift`: shown at 10k, run twenty times. */
const RXJS_MESSAGES = 10_000;
const ROUNDS = 5;

interface Case {
  readonly messages: number;
  run(): Promise<void>;
}

const cases = {
  sluice: {
    messages: SLUICE_MESSAGES,
    async run() {
      expectSum(await sumOf(sluicePipeline(ids(SLUICE_MESSAGES))), SLUICE_MESSAGES, 'sluice');
    },
  },
  effect: {
    messages: EFFECT_MESSAGES,
    async run() {
      const sum = await Effect.runPromise(effectPipeline(ids(EFFECT_MESSAGES)));
      expectSum(sum, EFFECT_MESSAGES, 'Effect Stream');
    },
  },
  rxjs: {
    messages: RXJS_MESSAGES * 20,
    async run() {
      for (let round = 0; round < 20; round++) {
        expectSum(await sumOf(rxjsPipeline(ids(RXJS_MESSAGES))), RXJS_MESSAGES, 'mergeMap chain');
      }
    },
  },
} satisfies Record<string, Case>;

type CaseName = keyof typeof cases;

/** Messages per second, best of `ROUNDS` interleaved runs after one warm-up; NaN if it fails. */
async function rates(): Promise<{
  best: Record<CaseName, number>;
  errors: Partial<Record<CaseName, string>>;
}> {
  const names = Object.keys(cases) as CaseName[];
  const best = {} as Record<CaseName, number>;
  const errors: Partial<Record<CaseName, string>> = {};
  for (const name of names) {
    best[name] = 0;
    try {
      await cases[name].run();
    } catch (err) {
      errors[name] = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      best[name] = Number.NaN;
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      if (errors[name] !== undefined) continue;
      const started = process.hrtime.bigint();
      await cases[name].run();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      best[name] = Math.max(best[name], (cases[name].messages * 1000) / ms);
    }
  }
  return { best, errors };
}

async function throughputRows(): Promise<Row[]> {
  const { best, errors } = await rates();
  const failed =
    errors.sluice === undefined ? undefined : `failed: ${errors.sluice.split('\n')[0]}`;
  return [
    row({
      group,
      name: NAME,
      unit: 'msg/s',
      value: best.sluice,
      baseline: 'Effect Stream: mapEffect(f, { concurrency }) per stage',
      baselineValue: best.effect,
      target: '>= 2x',
      note:
        failed ??
        `best of ${ROUNDS} interleaved runs; sluice ${SLUICE_MESSAGES / 1000}k messages a run, ` +
          `Effect ${EFFECT_MESSAGES / 1000}k; jobs are already-resolved promises`,
    }),
    row({
      group,
      name: NAME,
      unit: 'msg/s',
      value: best.sluice,
      baseline: `from → mergeMap(8) → map → mergeMap(4) → mergeMap(2), ${RXJS_MESSAGES / 1000}k msgs (x20)`,
      baselineValue: best.rxjs,
      ...(failed === undefined ? {} : { note: failed }),
    }),
  ];
}

// ---- memory: 100k → 1M messages, each point in a fresh process -----------------------------

const here = dirname(fileURLToPath(import.meta.url));
const LIBS: readonly PipelineLib[] = ['sluice', 'mergeMap'];
const SIZES = [100_000, 1_000_000] as const;
const FLAT_LIMIT_MB = 5;
const MB = 1024 * 1024;
const count = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1000}k`);

function overloadOnce(lib: PipelineLib, n: number): Promise<PipelineOverloadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(here, 'pipelineOverload.ts'), lib, String(n)],
      { cwd: dirname(here), stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
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
        const why =
          err
            .trim()
            .split('\n')
            .find((line) => /Error/.test(line)) ?? err.trim();
        reject(new Error(`pipelineOverload ${lib} ${n} exited with ${code ?? signal}: ${why}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as PipelineOverloadResult);
      } catch {
        reject(new Error(`pipelineOverload ${lib} ${n} printed no result: ${out}${err}`));
      }
    });
  });
}

async function overloadRows(): Promise<Row[]> {
  const results = new Map<string, PipelineOverloadResult | Error>();
  for (const lib of LIBS) {
    for (const n of SIZES) {
      try {
        results.set(`${lib} ${n}`, await overloadOnce(lib, n));
      } catch (err) {
        results.set(`${lib} ${n}`, err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
  const first = SIZES[0];
  const last = SIZES[SIZES.length - 1]!;
  const span = `${count(first)} → ${count(last)} msgs`;
  const growth = (lib: PipelineLib): { mb: number; note: string } => {
    const a = results.get(`${lib} ${first}`);
    const b = results.get(`${lib} ${last}`);
    if (a instanceof Error || a === undefined)
      return { mb: Number.NaN, note: `failed: ${a?.message}` };
    if (b instanceof Error || b === undefined)
      return { mb: Number.NaN, note: `failed: ${b?.message}` };
    return {
      mb: (b.peakHeapBytes - a.peakHeapBytes) / MB,
      note:
        `peak ${(a.peakHeapBytes / MB).toFixed(1)} MB at ${count(first)}, ` +
        `${(b.peakHeapBytes / MB).toFixed(1)} MB at ${count(last)} ` +
        `(${formatNumber(b.finished)} messages through when measured)`,
    };
  };
  const sluice = growth('sluice');
  const rxjs = growth('mergeMap');
  const name = `${NAME}: peak heap growth, ${span}`;
  return [
    row({
      group,
      name,
      unit: 'MB',
      value: sluice.mb,
      baseline: 'the allowance sluice sets itself',
      baselineValue: FLAT_LIMIT_MB,
      higherIsBetter: false,
      target: '<= 1x',
      note:
        `synchronous producer (a generator of ids) pulled through every stage; peak = highest ` +
        `heapUsed sampled every 10k messages minus the settled heap at start, each N in a fresh ` +
        `node --expose-gc; ${sluice.note}`,
    }),
    row({
      group,
      name,
      unit: 'MB',
      value: sluice.mb,
      baseline: 'from → mergeMap(8) → map → mergeMap(4) → mergeMap(2): same growth',
      baselineValue: rxjs.mb,
      higherIsBetter: false,
      note: `mergeMap chain: every message waits in the first mergeMap's backlog; ${rxjs.note}`,
    }),
  ];
}

/** Throughput first (nothing else running), then the memory processes one at a time. */
export async function run(): Promise<Row[]> {
  const throughput = await throughputRows();
  const memory = await overloadRows();
  return [...throughput, ...memory];
}
