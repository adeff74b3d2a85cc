/**
 * `npm run bench [-- filter ...]`: runs every `bench/*.bench.ts` (in name order, or those
 * whose name contains one of the filters), prints one table and writes `bench/results.json`.
 *
 * An unfiltered run also writes `docs/performance.md` and `docs/performance-overload.svg`
 * (`bench/report.ts`) from this run's rows alone, so that the page shows one run on one
 * machine. A filtered run leaves them as they are; it only merges its files' rows into
 * `bench/results.json`.
 *
 * Each bench file exports `async function run(): Promise<Row[]>` (see `bench/harness.ts`) and
 * runs in a fresh child process, so one bench's heap, JIT state and leftover timers cannot
 * skew the next (a promise-heavy bench measured after the channel bench ran 5x slower than
 * alone). A bench file that throws is reported as failed and the others still run; the process
 * then exits 1. The npm script starts node with `--expose-gc` so that heap figures are settled;
 * the children get the same flag.
 * @module
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { canMeasureHeap, formatTable, type Row } from './harness.js';
import {
  describeMachine,
  type Machine,
  overloadSeriesFromRows,
  renderOverloadSvg,
  renderPerformanceMarkdown,
} from './report.js';

interface BenchModule {
  run(): Promise<Row[]>;
}

interface Results {
  /** Where the last run's figures come from; every run overwrites this. */
  machine: Machine;
  /** Rows per bench file, each with the time it last ran: a filtered run keeps the others. */
  benches: Record<string, { ranAt: string; rows: Row[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(here, 'results.json');
const docsDir = join(here, '..', 'docs');
const pagePath = join(docsDir, 'performance.md');
const chartName = 'performance-overload.svg';

function isBenchModule(mod: unknown): mod is BenchModule {
  return (
    typeof mod === 'object' && mod !== null && typeof (mod as { run?: unknown }).run === 'function'
  );
}

function readResults(): Results['benches'] {
  try {
    const parsed = JSON.parse(readFileSync(resultsPath, 'utf8')) as Partial<Results>;
    return parsed.benches ?? {};
  } catch {
    return {};
  }
}

/** The first line of an error's message, for the page. */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0]!.trim();
}

interface Failure {
  bench: string;
  error: string;
}

/** Writes the page (and the chart, when the pool bench produced its series). */
function writeDocs(rows: readonly Row[], machine: Machine, failed: Failure[]): void {
  const points = overloadSeriesFromRows(rows);
  if (points.length > 0) {
    const chartPath = join(docsDir, chartName);
    writeFileSync(chartPath, renderOverloadSvg(points));
    console.log(`chart written to ${relative(process.cwd(), chartPath)}`);
  }
  writeFileSync(pagePath, renderPerformanceMarkdown({ rows, machine, failed, chart: chartName }));
  console.log(`page written to ${relative(process.cwd(), pagePath)}`);
}

/** In a child: runs one bench file and writes its rows as JSON on the last line of stdout. */
async function child(file: string): Promise<number> {
  const mod: unknown = await import(pathToFileURL(join(here, file)).href);
  if (!isBenchModule(mod)) throw new Error(`${file} does not export run()`);
  const produced = await mod.run();
  process.stdout.write(`\n${JSON.stringify(produced)}\n`);
  return 0;
}

/** Runs one bench file in a fresh node process (with --expose-gc and tsx) and returns its rows. */
function runIsolated(file: string): Promise<Row[]> {
  const args = ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', file];
  return new Promise((resolve, reject) => {
    const proc = execFile(
      process.execPath,
      args,
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => {
        if (error) {
          reject(error);
          return;
        }
        const last = stdout.trimEnd().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as Row[]);
        } catch {
          reject(new Error(`${file} printed no rows`));
        }
      },
    );
    proc.stderr?.pipe(process.stderr);
  });
}

async function main(): Promise<number> {
  // Before anything runs: the load average says how busy the machine already was.
  const machine = describeMachine();
  const filters = process.argv.slice(2).filter((arg) => arg.length > 0);
  const files = readdirSync(here)
    .filter((file) => file.endsWith('.bench.ts'))
    .sort()
    .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
  if (files.length === 0) {
    console.error(`no bench file matches ${filters.join(', ')}`);
    return 1;
  }
  const heap = canMeasureHeap();
  if (!heap) console.warn('node runs without --expose-gc: heap figures will be skipped');

  const benches = readResults();
  const rows: Row[] = [];
  const failed: Failure[] = [];
  for (const file of files) {
    const name = basename(file, '.bench.ts');
    const started = Date.now();
    process.stderr.write(`bench ${name} ... `);
    try {
      const produced = await runIsolated(file);
      rows.push(...produced);
      benches[name] = { ranAt: new Date().toISOString(), rows: produced };
      process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed.push({ bench: name, error: firstLine(err) });
      process.stderr.write('failed\n');
      console.error(err);
    }
  }

  console.log(`\n${formatTable(rows)}\n`);
  const misses = rows.filter((r) => r.pass === false);
  if (misses.length > 0) {
    console.log(`targets missed: ${misses.map((r) => `${r.group}: ${r.name}`).join('; ')}`);
  }
  if (failed.length > 0) {
    console.log(`failed: ${failed.map((f) => `${f.bench} (${f.error})`).join('; ')}`);
  }

  const results: Results = { machine, benches };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${relative(process.cwd(), resultsPath)}`);

  if (filters.length > 0) {
    console.log('filtered run: docs/performance.md is written only by an unfiltered run');
  } else if (!heap) {
    console.log('docs/performance.md not written: its heap figures need node --expose-gc');
  } else {
    writeDocs(rows, machine, failed);
  }
  // A missed target is a finding, not a failure; a bench that crashed is.
  return failed.length > 0 ? 1 : 0;
}

const childAt = process.argv.indexOf('--child');
process.exitCode = childAt >= 0 ? await child(process.argv[childAt + 1] ?? '') : await main();
