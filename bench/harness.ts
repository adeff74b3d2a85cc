/**
 * Shared measuring helpers for sluice's benchmarks (`npm run bench`).
 *
 * Every `bench/*.bench.ts` exports `async function run(): Promise<Row[]>`; `bench/run.ts`
 * collects the rows, prints one table and writes `bench/results.json`. Benchmarks compare
 * sluice with an alternative measured in the same process, in the same run, and report the
 * ratio: absolute figures move with the machine and its load, ratios much less.
 *
 * Nothing here asserts timings: a missed target is reported (`pass: false`), never thrown.
 * @module
 */

/** One line of the results table: sluice's figure beside the alternative's. */
export interface Row {
  /** The bench file's subject, e.g. `'channels'`. */
  group: string;
  /** What sluice did, e.g. `'mpsc trySend → subscriber'`. */
  name: string;
  /** Unit of `value` and `baselineValue`, e.g. `'msg/s'`, `'B/msg'`. */
  unit: string;
  /** sluice's figure (`NaN` when it could not be measured; `note` says why). */
  value: number;
  /** What sluice is compared with, e.g. `'Subject.next → subscriber'`. */
  baseline: string;
  baselineValue: number;
  /**
   * Always `value / baselineValue`. Read it with `higherIsBetter`: for a rate, 2x means sluice
   * is twice as fast; for memory (`higherIsBetter: false`), 0.5x means sluice uses half.
   */
  ratio: number;
  /** Whether a larger `value` is better. @default true */
  higherIsBetter?: boolean;
  /** The target on `ratio` the project sets itself, e.g. `'>= 0.5x'`. */
  target?: string;
  /** Whether `target` was met in this run. */
  pass?: boolean;
  note?: string;
}

/** A workload that moves `n` messages; a rate is `n` divided by its duration. */
export type Workload = (n: number) => void | Promise<void>;

export interface RateOptions {
  /** Untimed runs first, also used to pick `n`. @default 2 */
  readonly warmup?: number;
  /** Timed runs per case. @default 5 */
  readonly runs?: number;
  /** Wanted duration of one timed run, in milliseconds; `n` is chosen to fit. @default 150 */
  readonly runMs?: number;
}

export interface RateResult {
  /** The fastest run, in operations per second: the least disturbed by other processes. */
  readonly best: number;
  /** The median run, in operations per second. */
  readonly median: number;
  /** Every timed run, in operations per second, in order. */
  readonly samples: readonly number[];
  /** Messages per timed run. */
  readonly n: number;
}

const now = (): bigint => process.hrtime.bigint();

async function timeOnce(fn: Workload, n: number): Promise<number> {
  const start = now();
  const pending = fn(n);
  if (pending !== undefined) await pending;
  return Number(now() - start) / 1e6;
}

/** Finds an `n` for which one run of `fn` lasts about `runMs`, running it as warm-up. */
async function calibrate(fn: Workload, warmup: number, runMs: number): Promise<number> {
  let n = 1_000;
  let ms = await timeOnce(fn, n);
  // Grow until a run is long enough to extrapolate from.
  while (ms < runMs / 8 && n < 1e9) {
    n *= 4;
    ms = await timeOnce(fn, n);
  }
  n = Math.max(1_000, Math.round((n * runMs) / Math.max(ms, 0.001)));
  for (let i = 1; i < warmup; i++) await timeOnce(fn, n);
  return n;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

function summarize(n: number, durationsMs: readonly number[]): RateResult {
  const samples = durationsMs.map((ms) => (n * 1000) / ms);
  return { best: Math.max(...samples), median: median(samples), samples, n };
}

/** Operations per second of one workload: warm-up, then best and median of `runs` runs. */
export async function measureRate(fn: Workload, options: RateOptions = {}): Promise<RateResult> {
  const results = await compareRates({ only: fn }, options);
  return results.only;
}

/**
 * Operations per second of several workloads measured side by side: every case is warmed up,
 * then the timed runs go round-robin (a, b, c, a, b, c, ...) so that a slow moment of the
 * machine hits every case alike instead of one case's whole series.
 */
export async function compareRates<K extends string>(
  cases: Readonly<Record<K, Workload>>,
  options: RateOptions = {},
): Promise<Record<K, RateResult>> {
  const { warmup = 2, runs = 5, runMs = 150 } = options;
  const names = Object.keys(cases) as K[];
  const sizes = new Map<K, number>();
  for (const name of names) sizes.set(name, await calibrate(cases[name], warmup, runMs));
  const durations = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < runs; round++) {
    for (const name of names) {
      durations.get(name)!.push(await timeOnce(cases[name], sizes.get(name)!));
    }
  }
  const out = {} as Record<K, RateResult>;
  for (const name of names) out[name] = summarize(sizes.get(name)!, durations.get(name)!);
  return out;
}

type Gc = () => void;

function gcFunction(): Gc | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as Gc) : undefined;
}

/** Whether heap figures can be trusted: node must run with `--expose-gc` (npm run bench does). */
export function canMeasureHeap(): boolean {
  return gcFunction() !== undefined;
}

/**
 * Heap in use after full garbage collections, in bytes. Throws when node runs without
 * `--expose-gc`, since a heap figure with garbage in it means nothing.
 */
export function settledHeap(): number {
  const gc = gcFunction();
  if (gc === undefined) throw new Error('heap measurements need node --expose-gc');
  // Several passes: the first may only make more garbage collectable (weak refs, finalizers).
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes retained by what `build` creates, measured while its result is still reachable.
 * `build` must keep everything it allocates reachable from its result; the result is returned
 * so the caller can tear it down afterwards.
 */
export async function measureHeap<T>(
  build: () => T | Promise<T>,
): Promise<{ bytes: number; result: T }> {
  const before = settledHeap();
  const result = await build();
  const after = settledHeap();
  return { bytes: after - before, result };
}

// ---- rows and the table ---------------------------------------------------------------

/** Builds a row with `ratio = value / baselineValue` and `pass` checked against `target`. */
export function row(fields: Omit<Row, 'ratio' | 'pass'>): Row {
  const ratio = fields.value / fields.baselineValue;
  const out: Row = { ...fields, ratio };
  if (fields.target !== undefined) {
    const pass = checkTarget(fields.target, ratio);
    if (pass !== undefined) out.pass = pass;
  }
  return out;
}

/**
 * Evaluates a target such as `'>= 0.5x'` or `'<= 1.5x'` against a ratio; `undefined` when the
 * ratio is not a number or the target is not in that form.
 */
export function checkTarget(target: string, ratio: number): boolean | undefined {
  const match = /^\s*(>=|<=|>|<)\s*([0-9.]+)\s*x?\s*$/.exec(target);
  if (match === null || !Number.isFinite(ratio)) return undefined;
  const bound = Number(match[2]);
  switch (match[1]) {
    case '>=':
      return ratio >= bound;
    case '<=':
      return ratio <= bound;
    case '>':
      return ratio > bound;
    default:
      return ratio < bound;
  }
}

/** A number with three significant digits and a k/M/G suffix: `12.3M`, `950k`, `42.0`. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const [scaled, suffix] =
    abs >= 1e9
      ? [value / 1e9, 'G']
      : abs >= 1e6
        ? [value / 1e6, 'M']
        : abs >= 1e3
          ? [value / 1e3, 'k']
          : [value, ''];
  const digits = Math.abs(scaled) >= 100 ? 0 : Math.abs(scaled) >= 10 ? 1 : 2;
  return scaled.toFixed(digits) + suffix;
}

function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  return (
    (ratio >= 10 ? ratio.toFixed(1) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toFixed(3)) + 'x'
  );
}

/**
 * The rows as a plain-text table: one line per row, then numbered notes. `better` says which
 * way the ratio should point; `target` is `ok` or `MISS` when a target was checked.
 */
export function formatTable(rows: readonly Row[]): string {
  const notes: string[] = [];
  const header = ['group', 'sluice', 'value', 'baseline', 'value', 'ratio', 'better', 'target'];
  const lines = rows.map((r) => {
    let name = r.name;
    if (r.note !== undefined) {
      notes.push(r.note);
      name += ` [${notes.length}]`;
    }
    const verdict = r.target === undefined ? '' : `${r.target} ${verdictOf(r.pass)}`;
    return [
      r.group,
      name,
      `${formatNumber(r.value)} ${r.unit}`,
      r.baseline,
      `${formatNumber(r.baselineValue)} ${r.unit}`,
      formatRatio(r.ratio),
      r.higherIsBetter === false ? 'lower' : 'higher',
      verdict,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const right = new Set([2, 4, 5]);
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)];
  if (notes.length > 0) {
    out.push('');
    notes.forEach((note, i) => {
      out.push(`[${i + 1}] ${note}`);
    });
  }
  return out.join('\n');
}

function verdictOf(pass: boolean | undefined): string {
  return pass === undefined ? '(not measured)' : pass ? 'ok' : 'MISS';
}
