/**
 * `npm run bench [-- filter ...]`: runs every `bench/*.bench.ts` (in name order, or those
 * whose name contains one of the filters), prints one table and writes `bench/results.json`.
 *
 * Each bench file exports `async function run(): Promise<Row[]>` (see `bench/harness.ts`).
 * The npm script starts node with `--expose-gc` so that heap figures are settled.
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { canMeasureHeap, formatTable, type Row } from './harness.js';

interface BenchModule {
  run(): Promise<Row[]>;
}

interface Results {
  /** Where the figures come from; every run overwrites these. */
  machine: { node: string; platform: string; cpu: string; cores: number };
  /** Rows per bench file, each with the time it last ran: a filtered run keeps the others. */
  benches: Record<string, { ranAt: string; rows: Row[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(here, 'results.json');

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

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((arg) => arg.length > 0);
  const files = readdirSync(here)
    .filter((file) => file.endsWith('.bench.ts'))
    .sort()
    .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
  if (files.length === 0) {
    console.error(`no bench file matches ${filters.join(', ')}`);
    return 1;
  }
  if (!canMeasureHeap()) {
    console.warn('node runs without --expose-gc: heap figures will be skipped');
  }

  const benches = readResults();
  const rows: Row[] = [];
  let failed = 0;
  for (const file of files) {
    const name = basename(file, '.bench.ts');
    const started = Date.now();
    process.stderr.write(`bench ${name} ... `);
    try {
      const mod: unknown = await import(pathToFileURL(join(here, file)).href);
      if (!isBenchModule(mod)) throw new Error(`${file} does not export run()`);
      const produced = await mod.run();
      rows.push(...produced);
      benches[name] = { ranAt: new Date().toISOString(), rows: produced };
      process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed++;
      process.stderr.write('failed\n');
      console.error(err);
    }
  }

  console.log(`\n${formatTable(rows)}\n`);
  const misses = rows.filter((r) => r.pass === false);
  if (misses.length > 0) {
    console.log(`targets missed: ${misses.map((r) => `${r.group}: ${r.name}`).join('; ')}`);
  }

  const results: Results = {
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
    },
    benches,
  };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${resultsPath}`);
  // A missed target is a finding, not a failure; a bench that crashed is.
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
