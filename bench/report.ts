/**
 * Renders a benchmark run as `docs/performance.md` and `docs/performance-overload.svg`.
 *
 * Pure functions of the rows and a description of the machine, so the same run always gives
 * the same bytes (`spec/bench-report.spec.ts` checks them on fixed rows). `bench/run.ts`
 * calls them after an unfiltered run; nothing here measures anything.
 *
 * The page has no ```ts blocks on purpose: `spec/docs.spec.ts` runs every one in `docs/`.
 * @module
 */
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { formatNumber, type Row } from './harness.js';

// ---- the machine ----------------------------------------------------------------------------

/** Where the figures come from. */
export interface Machine {
  /** CPU model, from `os.cpus()`. */
  readonly cpu: string;
  /** CPUs node may use (`os.availableParallelism()`). */
  readonly cores: number;
  /** Total memory, in bytes. */
  readonly memoryBytes: number;
  /** `process.version`. */
  readonly node: string;
  /** Kernel, release and architecture, e.g. `Linux 6.8.0 x64`. */
  readonly os: string;
  /** When the run started, as an ISO 8601 UTC timestamp. */
  readonly date: string;
  /** Load average over 1, 5 and 15 minutes when the run started. */
  readonly loadAverage: readonly [number, number, number];
}

/** Describes the machine this process runs on; call it before measuring (load average). */
export function describeMachine(date: Date = new Date()): Machine {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    os: `${type()} ${release()} ${arch()}`,
    date: date.toISOString(),
    loadAverage: [one, five, fifteen],
  };
}

// ---- the overload series ------------------------------------------------------------------

/** One point of the heap chart: peak heap when `lib` had been sent `n` messages. */
export interface OverloadPoint {
  readonly lib: string;
  readonly n: number;
  readonly peakHeapBytes: number;
}

const MB = 1024 * 1024;
const SERIES_ROW = /^overload series: (.+), ([0-9.]+)(k|M)? msgs$/;

/** Whether `row` is one point of the overload series (`overload series: <lib>, <n> msgs`). */
export function isSeriesRow(row: Row): boolean {
  return SERIES_ROW.test(row.name);
}

/**
 * The overload series carried by `pool.bench.ts`'s rows named `overload series: <lib>, <n>
 * msgs` (value in MB), in row order. Reading them from the rows rather than from the bench
 * module's export means a stored `bench/results.json` can be rendered again.
 */
export function overloadSeriesFromRows(rows: readonly Row[]): OverloadPoint[] {
  const points: OverloadPoint[] = [];
  for (const r of rows) {
    const match = SERIES_ROW.exec(r.name);
    if (match === null || r.unit !== 'MB') continue;
    const scale = match[3] === 'M' ? 1e6 : match[3] === 'k' ? 1e3 : 1;
    const n = Math.round(Number(match[2]) * scale);
    // A JSON round trip turns NaN into null: keep such points out of the chart.
    if (typeof r.value !== 'number' || !Number.isFinite(r.value)) continue;
    points.push({ lib: match[1]!, n, peakHeapBytes: r.value * MB });
  }
  return points;
}

/** `100k`, `250k`, `1M`, `1.5M`. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${Number((n / 1e6).toFixed(2))}M`;
  if (n >= 1e3) return `${Number((n / 1e3).toFixed(1))}k`;
  return String(n);
}

/** Megabytes with three significant digits: `4.10`, `36.8`, `678`. */
function formatMB(bytes: number): string {
  const mb = bytes / MB;
  const abs = Math.abs(mb);
  return mb.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

interface Series {
  readonly lib: string;
  /** Points in increasing `n`. */
  readonly points: readonly OverloadPoint[];
}

/** Points grouped per library, libraries in order of first appearance. */
function groupSeries(points: readonly OverloadPoint[]): Series[] {
  const byLib = new Map<string, OverloadPoint[]>();
  for (const p of points) byLib.set(p.lib, [...(byLib.get(p.lib) ?? []), p]);
  return [...byLib].map(([lib, ps]) => ({ lib, points: [...ps].sort((a, b) => a.n - b.n) }));
}

// ---- the chart ----------------------------------------------------------------------------

const WIDTH = 720;
const HEIGHT = 400;
const PLOT = { left: 78, right: 520, top: 70, bottom: 330 } as const;
const LEGEND_X = 548;
const INK = '#1f2937';
const MUTED = '#6b7280';
const GRID = '#e5e7eb';
const MINOR = '#f3f4f6';
/** Fixed colours for the libraries the pool bench measures; others take the spare ones. */
const COLOURS: Readonly<Record<string, string>> = {
  workerPool: '#2563eb',
  'workerPool block': '#059669',
  mergeMap: '#dc2626',
  'p-queue': '#7c3aed',
  fastq: '#d97706',
};
const SPARE = ['#db2777', '#0891b2', '#4b5563', '#65a30d'];

/**
 * How the chart and the page name a series: the two `workerPool` lines say their policy
 * (`'drop'` is the lossy one, `'block'` fed by `fromIterable` the lossless one).
 */
const LABELS: Readonly<Record<string, string>> = {
  workerPool: "workerPool 'drop'",
  'workerPool block': "workerPool 'block'",
};
export const seriesLabel = (lib: string): string => LABELS[lib] ?? lib;
const isSluice = (lib: string): boolean => lib === 'workerPool' || lib === 'workerPool block';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A coordinate with one decimal, without a trailing `.0`. */
const c = (v: number): string => String(Math.round(v * 10) / 10);

/**
 * The heap chart: peak heap (MB) against messages produced, one line per library, both axes
 * logarithmic so that a flat line (bounded memory) and lines growing with the backlog fit one
 * picture; on these axes, memory proportional to the backlog is a straight line rising one
 * decade per decade. About 720x400, generic fonts only, and the same bytes for the same
 * points. Throws when `points` has nothing to draw.
 */
export function renderOverloadSvg(points: readonly OverloadPoint[]): string {
  const series = groupSeries(points.filter((p) => p.n > 0));
  if (series.length === 0) throw new RangeError('renderOverloadSvg: no overload points to draw');

  const counts = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort(
    (a, b) => a - b,
  );
  const positive = series.flatMap((s) => s.points.map((p) => p.peakHeapBytes / MB));
  const smallest = Math.min(...positive.filter((v) => v > 0), Number.POSITIVE_INFINITY);
  const lowDecade = Number.isFinite(smallest) ? Math.floor(Math.log10(smallest)) : 0;
  const largest = Math.max(...positive);
  const highDecade = Math.max(lowDecade + 1, Math.ceil(Math.log10(largest)));

  const xMin = Math.log10(counts[0]!);
  const xMax = Math.log10(counts[counts.length - 1]!);
  const xPad = 18;
  const x = (n: number): number =>
    xMax === xMin
      ? (PLOT.left + PLOT.right) / 2
      : PLOT.left +
        xPad +
        ((Math.log10(n) - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left - 2 * xPad);
  const y = (mb: number): number => {
    const decade = Math.log10(Math.max(mb, 10 ** lowDecade));
    return (
      PLOT.bottom - ((decade - lowDecade) / (highDecade - lowDecade)) * (PLOT.bottom - PLOT.top)
    );
  };

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    "<title>Peak heap against messages produced under overload: workerPool 'drop' is lossy, every other line lossless</title>",
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${INK}">Peak heap under overload, 4 workers: only workerPool 'drop' loses messages</text>`,
    `<text x="16" y="44" font-size="11" fill="${MUTED}">Lossless: workerPool 'block' fed by fromIterable (the producer waits), and the others (they queue all).</text>`,
    `<text x="16" y="58" font-size="11" fill="${MUTED}">Both axes logarithmic: flat is bounded memory; a line rising a decade per decade grows with the backlog.</text>`,
  ];

  // Grid and y labels: a labelled line per decade, light lines at 2x and 5x.
  for (let d = lowDecade; d <= highDecade; d++) {
    const value = 10 ** d;
    out.push(
      `<line x1="${PLOT.left}" y1="${c(y(value))}" x2="${PLOT.right}" y2="${c(y(value))}" stroke="${GRID}"/>`,
      `<text x="${PLOT.left - 8}" y="${c(y(value) + 4)}" text-anchor="end" fill="${MUTED}">${String(value)}</text>`,
    );
    if (d < highDecade) {
      for (const m of [2, 5]) {
        out.push(
          `<line x1="${PLOT.left}" y1="${c(y(m * value))}" x2="${PLOT.right}" y2="${c(y(m * value))}" stroke="${MINOR}"/>`,
        );
      }
    }
  }
  // x ticks at every measured count.
  for (const n of counts) {
    out.push(
      `<line x1="${c(x(n))}" y1="${PLOT.top}" x2="${c(x(n))}" y2="${PLOT.bottom}" stroke="${MINOR}"/>`,
      `<line x1="${c(x(n))}" y1="${PLOT.bottom}" x2="${c(x(n))}" y2="${PLOT.bottom + 5}" stroke="${INK}"/>`,
      `<text x="${c(x(n))}" y="${PLOT.bottom + 19}" text-anchor="middle" fill="${INK}">${esc(formatCount(n))}</text>`,
    );
  }
  // Axes and their labels.
  const midY = c((PLOT.top + PLOT.bottom) / 2);
  out.push(
    `<path d="M${PLOT.left},${PLOT.top}V${PLOT.bottom}H${PLOT.right}" fill="none" stroke="${INK}"/>`,
    `<text x="${c((PLOT.left + PLOT.right) / 2)}" y="${PLOT.bottom + 42}" text-anchor="middle" fill="${INK}">messages produced (log scale)</text>`,
    `<text x="22" y="${midY}" transform="rotate(-90 22 ${midY})" text-anchor="middle" fill="${INK}">peak heap above start, MB (log scale)</text>`,
  );

  // One line per library, with a dot per measured point.
  const colour = new Map<string, string>();
  let spare = 0;
  for (const s of series) {
    colour.set(s.lib, COLOURS[s.lib] ?? SPARE[spare++ % SPARE.length]!);
  }
  for (const s of series) {
    const stroke = colour.get(s.lib)!;
    const width = isSluice(s.lib) ? 3 : 2;
    const coords = s.points.map((p) => `${c(x(p.n))},${c(y(p.peakHeapBytes / MB))}`);
    out.push(
      `<polyline class="series" data-lib="${esc(s.lib)}" points="${coords.join(' ')}" fill="none" stroke="${stroke}" stroke-width="${width}" stroke-linejoin="round"/>`,
    );
    for (const xy of coords) {
      const [cx, cy] = xy.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${stroke}"/>`);
    }
  }

  // Legend, ordered as the lines end on the right (largest first), each with its last figure
  // and its growth over the range.
  const lastOf = (s: Series): OverloadPoint => s.points[s.points.length - 1]!;
  const ordered = [...series].sort((a, b) => lastOf(b).peakHeapBytes - lastOf(a).peakHeapBytes);
  ordered.forEach((s, i) => {
    const top = PLOT.top + 6 + i * 58;
    const stroke = colour.get(s.lib)!;
    const first = s.points[0]!;
    const last = lastOf(s);
    const growth = last.peakHeapBytes - first.peakHeapBytes;
    out.push(
      `<line x1="${LEGEND_X}" y1="${top}" x2="${LEGEND_X + 24}" y2="${top}" stroke="${stroke}" stroke-width="${isSluice(s.lib) ? 3 : 2}"/>`,
      `<circle cx="${LEGEND_X + 12}" cy="${top}" r="3.5" fill="${stroke}"/>`,
      `<text x="${LEGEND_X + 32}" y="${top + 4}" font-weight="bold" fill="${INK}">${esc(seriesLabel(s.lib))}</text>`,
      `<text x="${LEGEND_X + 32}" y="${top + 20}" font-size="11" fill="${MUTED}">${esc(`${formatMB(last.peakHeapBytes)} MB at ${formatCount(last.n)}`)}</text>`,
    );
    if (last.n !== first.n) {
      out.push(
        `<text x="${LEGEND_X + 32}" y="${top + 35}" font-size="11" fill="${MUTED}">${esc(`${growth < 0 ? '-' : '+'}${formatMB(Math.abs(growth))} MB from ${formatCount(first.n)}`)}</text>`,
      );
    }
  });
  out.push('</svg>', '');
  return out.join('\n');
}

// ---- the page -----------------------------------------------------------------------------

/** What the page is made of: one run's rows, where it ran, and what failed. */
export interface Report {
  readonly rows: readonly Row[];
  readonly machine: Machine;
  /** Bench files that threw, with the first line of their error. */
  readonly failed?: readonly { readonly bench: string; readonly error: string }[];
  /** The chart's file name, relative to the page. @default 'performance-overload.svg' */
  readonly chart?: string;
}

/** Groups in the order the page shows them; any other group follows, alphabetically. */
const GROUPS: readonly {
  readonly group: string;
  readonly title: string;
  readonly about: string;
}[] = [
  {
    group: 'channels',
    title: 'Channels',
    about:
      '`mpsc` pushing into a plain subscriber beside `Subject.next`; the awaited hand-off ' +
      '(`await tx.send()` into `for await`, capacity 100) beside it-pushable, ' +
      "@repeaterjs/repeater, Effect's `Queue.bounded` and a hand-written minimal channel; " +
      '`broadcast` buffer memory as subscribers are added, beside a `ReplaySubject` per subscriber.',
  },
  {
    group: 'pool',
    title: 'Worker pools',
    about:
      "`workerPool` with 4 workers on 200k already-resolved jobs beside Effect's `forEach`, " +
      'fastq, p-queue (paced as its users feed it, and unpaced), `mergeMap` and four ' +
      'hand-written async loops (the practical limit); then memory under overload, lossy and ' +
      'lossless, each point in a fresh process.',
  },
  {
    group: 'pipeline',
    title: 'Pipelines',
    about:
      'A four-stage pipeline, `fromIterable → workerPool(8) → map → atLeastOnce(4) → ' +
      'workerPool(2, ordered)`, beside the same in Effect `Stream` (`mapEffect` with ' +
      '`concurrency`) and in RxJS `mergeMap`s; then its peak heap from 100k to 1M messages ' +
      'beside the `mergeMap` chain, each point in a fresh process.',
  },
  {
    group: 'delivery',
    title: 'Delivery',
    about:
      '`atLeastOnce` with immediate acks beside `mergeMap` doing the same deliveries; ' +
      "`dedupe`'s per-message cost and memory once its key window is full, beside `distinct`.",
  },
  {
    group: 'queue',
    title: 'Message queue',
    about:
      '`MessageQueue` enqueue → dequeue → ack throughput beside a plain array queue (the ' +
      'limit), and the cost of one lease expiry as more messages are in flight, beside ' +
      'scanning every in-flight message per tick (the simple design a lease heap replaces).',
  },
  {
    group: 'soak',
    title: 'Soak: one long-lived signal',
    about:
      'Millions of messages through each part (mpsc, mpmc, broadcast, watch, `MessageQueue`) ' +
      'with one `AbortSignal` passed to every waiting call, as a service passes its shutdown ' +
      'signal; the heap after a full GC must stay flat (within 5 MB).',
  },
  {
    group: 'redis',
    title: 'Message queue on Redis',
    about:
      '`RedisQueue` (`sluice/redis`) enqueue, and consume with 1 and 4 worker processes, beside ' +
      'BullMQ on the same private server (three interleaved rounds, the median shown), and ' +
      "receive + ack beside `redis-benchmark`'s raw `XADD` rate (the ceiling), without and " +
      'with pipelining. The server and the workers share the same two cores.',
  },
  {
    group: 'amqp',
    title: 'RabbitMQ',
    about:
      '`AmqpPublisher.send` with publisher confirms and `consumeAmqp` with acks (`sluice/amqp`), ' +
      'beside raw amqplib doing the same with the same confirm window and prefetch, on the ' +
      'local RabbitMQ. The broker and the client share the same two cores.',
  },
];

/**
 * A ratio for the page: `12.3x`, `2.35x`, and two significant digits below 0.1 (`0.0073x`),
 * where the console table's fixed decimals would print `0.000x` for a memory ratio.
 */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  if (ratio >= 10) return `${ratio.toFixed(1)}x`;
  if (ratio >= 0.1 || ratio === 0) return `${ratio.toFixed(2)}x`;
  return `${Number(ratio.toPrecision(2))}x`;
}

/** Escapes what would break a Markdown table cell. */
const cell = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function verdict(r: Row): string {
  if (r.target === undefined) return '';
  if (r.pass === undefined) return 'not measured';
  return r.pass ? 'pass' : '**miss**';
}

/** `2026-11-27 15:07 UTC` from an ISO timestamp. */
function formatDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function machineSection(m: Machine): string[] {
  const [one, five, fifteen] = m.loadAverage;
  const busy =
    one > m.cores
      ? ` — above the ${m.cores} cores: other processes competed for the CPU during the run, ` +
        'which lowers absolute figures more than ratios'
      : '';
  return [
    '## The machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${cell(m.cpu)} |`,
    `| cores | ${m.cores} |`,
    `| memory | ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB |`,
    `| Node | ${cell(m.node)} |`,
    `| OS | ${cell(m.os)} |`,
    `| date | ${formatDate(m.date)} |`,
    `| load average at start | ${one.toFixed(2)}, ${five.toFixed(2)}, ${fifteen.toFixed(2)} (1, 5, 15 min)${cell(busy)} |`,
    '',
  ];
}

/** One group's table; notes are numbered across the page and listed under their table. */
function groupTable(rows: readonly Row[], notes: { next: number }): string[] {
  const lines = [
    '| sluice | value | baseline | baseline value | ratio | better | target | result |',
    '|---|---:|---|---:|---:|---|---|---|',
  ];
  const below: string[] = [];
  for (const r of rows) {
    let name = cell(r.name);
    if (r.note !== undefined) {
      const n = notes.next++;
      name += ` [${n}]`;
      below.push(`${n}. ${cell(r.note)}`);
    }
    lines.push(
      `| ${name} | ${formatNumber(r.value)} ${cell(r.unit)} | ${cell(r.baseline)} | ` +
        `${formatNumber(r.baselineValue)} ${cell(r.unit)} | ${formatRatio(r.ratio)} | ` +
        `${r.higherIsBetter === false ? 'lower' : 'higher'} | ${cell(r.target ?? '')} | ${verdict(r)} |`,
    );
  }
  // An ordered list starting at n keeps the page's numbering: `7. ...` renders as 7.
  return below.length > 0 ? [...lines, '', 'Notes:', '', ...below, ''] : [...lines, ''];
}

function overloadSection(points: readonly OverloadPoint[], chart: string): string[] {
  const series = groupSeries(points);
  const counts = [...new Set(points.map((p) => p.n))].sort((a, b) => a - b);
  const lines = [
    '#### Heap under overload',
    '',
    'A synchronous producer (a `Subject` in a loop, which cannot be made to wait) sends every ' +
      'message at once to 4 workers whose jobs finish only after the producer is done, so ' +
      "each message is held, dropped or refused. `workerPool 'drop'` has capacity 1000 and " +
      "`'drop'`: it holds at most 1000 waiting jobs and reports every dropped one to " +
      '`onOverflow`; it is the only **lossy** line. `mergeMap`, p-queue and fastq keep every ' +
      "message in memory. `workerPool 'block'` is sluice's lossless way: the messages come " +
      'from `fromIterable`, which the pool pulls only when it has room, so the producer waits ' +
      'and nothing is dropped (that run goes on until every job is done). Each point is a ' +
      'fresh process; the figure is the highest heap sampled while producing, minus the ' +
      'settled heap at the start.',
    '',
    `![Peak heap against messages produced under overload, one line per library, both axes logarithmic; only workerPool 'drop' loses messages](${chart})`,
    '',
    `| peak heap, MB | ${counts.map(formatCount).join(' | ')} |`,
    `|---|${counts.map(() => '---:').join('|')}|`,
  ];
  for (const s of series) {
    const at = new Map(s.points.map((p) => [p.n, p]));
    const cells = counts.map((n) => {
      const p = at.get(n);
      return p === undefined ? '' : formatMB(p.peakHeapBytes);
    });
    lines.push(`| ${cell(seriesLabel(s.lib))} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  return lines;
}

/**
 * `docs/performance.md` for one run: what is measured and how to read it, the machine, one
 * table per group with targets, notes under each table, the heap chart under the pool table,
 * and the bench files that failed. The overload series rows are shown as the chart and a
 * small table rather than as sixteen table rows.
 */
export function renderPerformanceMarkdown(report: Report): string {
  const { rows, machine, failed = [], chart = 'performance-overload.svg' } = report;
  const known = new Set(GROUPS.map((g) => g.group));
  const others = [...new Set(rows.map((r) => r.group))]
    .filter((g) => !known.has(g))
    .sort()
    .map((group) => ({ group, title: group, about: '' }));
  const failedBench = new Set(failed.map((f) => f.bench));

  const out = [
    '<!-- Generated by `npm run bench` (bench/report.ts) from one run: do not edit by hand. -->',
    '',
    '# Performance',
    '',
    "sluice's benchmarks run each piece beside what you would otherwise use — RxJS built-ins, " +
      'p-queue, fastq, it-pushable, @repeaterjs/repeater, Effect and BullMQ — in the same process, ' +
      'in the same run, interleaved, and report the ratio of the two. Absolute figures depend ' +
      'on the machine and on whatever else it was doing; a ratio between two things measured ' +
      'side by side moves much less. Read the ratios: the absolute figures are there to show ' +
      'what each ratio is made of, not to be compared with another machine.',
    '',
    'The peer libraries are dev dependencies of the benchmarks only; sluice itself depends on ' +
      'rxjs alone. Every workload checks what it received (a sum or a count), so a broken ' +
      'hand-off cannot look fast. Nothing here is a test: a missed target is reported, not hidden.',
    '',
    'To reproduce (a few minutes; `npm run bench -- pool` runs only the matching bench files and ' +
      'leaves this page alone):',
    '',
    '```sh',
    'npm install',
    'npm run bench',
    '```',
    '',
    'How to read a table: `ratio = value / baseline value`; **better** says which way is good ' +
      '(higher for rates, lower for memory and time per message); **target** is a goal the ' +
      'project sets itself for the ratio, and **result** says whether this run met it. ' +
      'Rates are the best of several interleaved runs, the one least disturbed by other ' +
      'processes. How each case is built is described in ' +
      '`bench/README.md` and at the top of each `bench/*.bench.ts` in the repository.',
    '',
    ...machineSection(machine),
    '## Results',
    '',
  ];

  const notes = { next: 1 };
  for (const g of [...GROUPS, ...others]) {
    const groupRows = rows.filter((r) => r.group === g.group);
    if (groupRows.length === 0 && !failedBench.has(g.group)) continue;
    out.push(`### ${g.title}`, '');
    if (g.about !== '') out.push(g.about, '');
    if (failedBench.has(g.group)) {
      out.push(
        `\`bench/${g.group}.bench.ts\` failed in this run; see [Failed](#failed) below.`,
        '',
      );
    }
    const tableRows = groupRows.filter((r) => !isSeriesRow(r));
    if (tableRows.length > 0) out.push(...groupTable(tableRows, notes));
    const points = overloadSeriesFromRows(groupRows);
    if (points.length > 0) out.push(...overloadSection(points, chart));
  }

  if (failed.length > 0) {
    out.push('## Failed', '', 'These bench files threw instead of producing rows:', '');
    for (const f of failed) out.push(`- \`bench/${f.bench}.bench.ts\`: ${cell(f.error)}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
