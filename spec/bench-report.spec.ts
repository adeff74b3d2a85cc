/**
 * The benchmark report renderer (bench/report.ts) on fixed rows: the Markdown page and the
 * heap chart. No benchmark runs here and nothing is timed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Row, row } from '../bench/harness.js';
import {
  formatCount,
  formatRatio,
  isSeriesRow,
  type Machine,
  type OverloadPoint,
  overloadSeriesFromRows,
  renderOverloadSvg,
  renderPerformanceMarkdown,
  seriesLabel,
} from '../bench/report.js';

const MB = 1024 * 1024;

const machine: Machine = {
  cpu: 'Test CPU 3000',
  cores: 2,
  memoryBytes: 8 * 1024 ** 3,
  node: 'v20.1.0',
  os: 'Linux 6.1.0 x64',
  date: '2026-01-02T03:04:05.678Z',
  loadAverage: [1.5, 1.25, 1],
};

const series: [string, number[]][] = [
  ['workerPool', [3.9, 3.95, 3.96, 4.1]],
  ['mergeMap', [10, 12.5, 27.5, 36.75]],
  ['p-queue', [68.5, 171.5, 336, 677.5]],
  ['fastq', [17.5, 44, 87.75, 175.5]],
];
const SIZES = ['100k', '250k', '500k', '1M'];

function seriesRows(): Row[] {
  return series.flatMap(([lib, values]) =>
    values.map((mb, i) =>
      row({
        group: 'pool',
        name: `overload series: ${lib}, ${SIZES[i]} msgs`,
        unit: 'MB',
        value: mb,
        baseline: 'same, 100k msgs',
        baselineValue: values[0]!,
        higherIsBetter: false,
      }),
    ),
  );
}

const rows: Row[] = [
  row({
    group: 'delivery',
    name: 'atLeastOnce, 10k msgs',
    unit: 'msg/s',
    value: 600_000,
    baseline: 'mergeMap + take(1)',
    baselineValue: 1_000_000,
    target: '>= 0.7x',
  }),
  row({
    group: 'channels',
    name: 'mpsc trySend → plain subscriber',
    unit: 'msg/s',
    value: 60_000_000,
    baseline: 'Subject.next → plain subscriber',
    baselineValue: 30_000_000,
    target: '>= 0.5x',
  }),
  row({
    group: 'channels',
    name: 'a | piped name',
    unit: 'msg/s',
    value: 1_500,
    baseline: 'baseline with | pipe',
    baselineValue: 1_000,
    note: 'first note',
  }),
  row({
    group: 'channels',
    name: 'broadcast buffer',
    unit: 'B/msg',
    value: Number.NaN,
    baseline: 'one subscriber',
    baselineValue: Number.NaN,
    higherIsBetter: false,
    target: '<= 1.5x',
    note: 'skipped: not measured',
  }),
  row({
    group: 'pool',
    name: 'workerPool(c=4), 200k jobs',
    unit: 'jobs/s',
    value: 8_000_000,
    baseline: 'fastq callback API',
    baselineValue: 3_200_000,
    target: '>= 5x',
    note: 'pool note',
  }),
  row({
    group: 'pool',
    name: 'peak heap growth',
    unit: 'MB',
    value: 0.2,
    baseline: 'p-queue: same growth',
    baselineValue: 609,
    higherIsBetter: false,
  }),
  ...seriesRows(),
  row({
    group: 'zeta',
    name: 'z',
    unit: 'op/s',
    value: 2,
    baseline: 'y',
    baselineValue: 1,
  }),
  row({
    group: 'alpha',
    name: 'a',
    unit: 'op/s',
    value: 2,
    baseline: 'b',
    baselineValue: 1,
  }),
];

const page = renderPerformanceMarkdown({ rows, machine });
const lines = page.split('\n');

/** The lines of the section that starts with `heading`, up to the next heading of any level. */
function section(heading: string): string[] {
  const start = lines.indexOf(heading);
  expect(start, `no heading ${heading}`).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('#'));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('bench report: the Markdown page', () => {
  it('has one section per group, known groups first, then the others alphabetically', () => {
    const headings = lines.filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '# Performance',
      '## The machine',
      '## Results',
      '### Channels',
      '### Worker pools',
      '#### Heap under overload',
      '### Delivery',
      '### alpha',
      '### zeta',
    ]);
  });

  it('renders each row as a table line with value, baseline, ratio, direction, target and result', () => {
    const channels = section('### Channels');
    expect(channels).toContain(
      '| sluice | value | baseline | baseline value | ratio | better | target | result |',
    );
    expect(channels).toContain('|---|---:|---|---:|---:|---|---|---|');
    expect(channels).toContain(
      '| mpsc trySend → plain subscriber | 60.0M msg/s | Subject.next → plain subscriber | ' +
        '30.0M msg/s | 2.00x | higher | >= 0.5x | pass |',
    );
    expect(section('### Delivery')).toContain(
      '| atLeastOnce, 10k msgs | 600k msg/s | mergeMap + take(1) | 1.00M msg/s | 0.60x | higher | >= 0.7x | **miss** |',
    );
  });

  it('escapes pipes, shows unmeasured figures as n/a, and numbers the notes across the page', () => {
    const channels = section('### Channels');
    expect(channels).toContain(
      '| a \\| piped name [1] | 1.50k msg/s | baseline with \\| pipe | 1.00k msg/s | 1.50x | higher |  |  |',
    );
    expect(channels).toContain(
      '| broadcast buffer [2] | n/a B/msg | one subscriber | n/a B/msg | n/a | lower | <= 1.5x | not measured |',
    );
    expect(channels).toContain('1. first note');
    expect(channels).toContain('2. skipped: not measured');
    const pool = section('### Worker pools');
    expect(pool.some((l) => l.startsWith('| workerPool(c=4), 200k jobs [3] |'))).toBe(true);
    expect(pool).toContain('3. pool note');
  });

  it('keeps the overload series out of the pool table and shows them as the chart and a small table', () => {
    const pool = section('### Worker pools');
    expect(pool.some((l) => l.includes('overload series'))).toBe(false);
    expect(pool).toContain(
      '| peak heap growth | 0.20 MB | p-queue: same growth | 609 MB | 0.00033x | lower |  |  |',
    );
    const overload = section('#### Heap under overload');
    expect(overload).toContain(
      "![Peak heap against messages produced under overload, one line per library, both axes logarithmic; only workerPool 'drop' loses messages](performance-overload.svg)",
    );
    expect(overload.join(' ')).toContain('it is the only **lossy** line');
    expect(overload).toContain('| peak heap, MB | 100k | 250k | 500k | 1M |');
    expect(overload).toContain("| workerPool 'drop' | 3.90 | 3.95 | 3.96 | 4.10 |");
    expect(overload).toContain('| p-queue | 68.5 | 172 | 336 | 678 |');
  });

  it('describes the machine: CPU, cores, memory, Node, OS, date and load average', () => {
    expect(section('## The machine')).toEqual([
      '',
      '| | |',
      '|---|---|',
      '| CPU | Test CPU 3000 |',
      '| cores | 2 |',
      '| memory | 8.0 GiB |',
      '| Node | v20.1.0 |',
      '| OS | Linux 6.1.0 x64 |',
      '| date | 2026-01-02 03:04 UTC |',
      '| load average at start | 1.50, 1.25, 1.00 (1, 5, 15 min) |',
      '',
    ]);
  });

  it('says so when the load average was above the core count', () => {
    const busy = renderPerformanceMarkdown({
      rows,
      machine: { ...machine, loadAverage: [3.5, 3, 2.5] },
    });
    expect(busy).toContain(
      '| load average at start | 3.50, 3.00, 2.50 (1, 5, 15 min) — above the 2 cores:',
    );
  });

  it('explains the ratios and how to reproduce, in blocks that spec/docs.spec.ts does not run', () => {
    expect(page).toContain('```sh\nnpm install\nnpm run bench\n```');
    expect(page).toMatch(/ratio/);
    expect(page).toContain('same run');
    expect(page).not.toMatch(/```(?:ts|typescript)\n/);
  });

  it('lists failed bench files, with a section for a group that produced nothing', () => {
    const failedPage = renderPerformanceMarkdown({
      rows,
      machine,
      failed: [{ bench: 'queue', error: 'Error: boom | bang' }],
    });
    const failedLines = failedPage.split('\n');
    expect(failedLines).toContain('### Message queue');
    expect(failedLines).toContain('## Failed');
    expect(failedLines).toContain('- `bench/queue.bench.ts`: Error: boom \\| bang');
    expect(page).not.toContain('## Failed');
  });

  it('leaves out the chart when there is no overload series, and takes another chart name', () => {
    const noSeries = renderPerformanceMarkdown({
      rows: rows.filter((r) => !isSeriesRow(r)),
      machine,
    });
    expect(noSeries).not.toContain('Heap under overload');
    expect(noSeries).not.toContain('.svg');
    expect(renderPerformanceMarkdown({ rows, machine, chart: 'x.svg' })).toContain('](x.svg)');
  });

  it('is deterministic and ends with one newline', () => {
    expect(renderPerformanceMarkdown({ rows, machine })).toBe(page);
    expect(page.endsWith('\n')).toBe(true);
    expect(page.endsWith('\n\n')).toBe(false);
  });
});

describe('bench report: helpers', () => {
  it('reads the overload series from the rows, in bytes', () => {
    const points = overloadSeriesFromRows(rows);
    expect(points).toHaveLength(16);
    expect(points[0]).toEqual({ lib: 'workerPool', n: 100_000, peakHeapBytes: 3.9 * MB });
    expect(points[3]).toEqual({ lib: 'workerPool', n: 1_000_000, peakHeapBytes: 4.1 * MB });
    expect(points.map((p) => p.lib)).toEqual(series.flatMap(([lib]) => [lib, lib, lib, lib]));
  });

  it('skips rows that are not series points, and points whose value was lost (JSON null)', () => {
    const fromJson = JSON.parse(
      JSON.stringify([
        { ...seriesRows()[0]!, value: Number.NaN },
        { ...seriesRows()[1]!, unit: 'B' },
        seriesRows()[2]!,
        rows[0]!,
      ]),
    ) as Row[];
    expect(overloadSeriesFromRows(fromJson)).toEqual([
      { lib: 'workerPool', n: 500_000, peakHeapBytes: 3.96 * MB },
    ]);
  });

  it('formats counts and ratios', () => {
    expect([100_000, 250_000, 1_000_000, 1_500_000, 999].map(formatCount)).toEqual([
      '100k',
      '250k',
      '1M',
      '1.5M',
      '999',
    ]);
    expect([12.345, 2.345, 0.5, 0.00734, 0, Number.NaN].map(formatRatio)).toEqual([
      '12.3x',
      '2.35x',
      '0.50x',
      '0.0073x',
      '0.00x',
      'n/a',
    ]);
  });
});

// ---- the chart ----------------------------------------------------------------------------

/**
 * A small well-formedness check for the SVG the renderer writes: balanced tags, one root,
 * quoted attributes without duplicates, and `&`/`<` only as entities in text and values.
 */
function checkWellFormed(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const entity = /&(?!(?:amp|lt|gt|quot|apos|#\d+);)/;
  let at = 0;
  for (const match of xml.matchAll(/<[^<>]*>/g)) {
    const text = xml.slice(at, match.index);
    if (text.includes('<') || text.includes('>') || entity.test(text)) {
      problems.push(`bad text before offset ${match.index}: ${text}`);
    }
    at = match.index + match[0].length;
    const tag = match[0];
    if (tag.startsWith('</')) {
      const name = tag.slice(2, -1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const parsed = /^<([A-Za-z][\w:-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>$/.exec(tag);
    if (parsed === null) {
      problems.push(`malformed tag ${tag}`);
      continue;
    }
    const names = [...parsed[2]!.matchAll(/([\w:.-]+)="([^"]*)"/g)];
    const seen = new Set<string>();
    for (const [, attr, value] of names) {
      if (seen.has(attr!)) problems.push(`duplicate ${attr} in ${tag}`);
      seen.add(attr!);
      if (value!.includes('<') || entity.test(value!)) problems.push(`bad value in ${tag}`);
    }
    if (stack.length === 0) roots++;
    if (parsed[3] !== '/') stack.push(parsed[1]!);
  }
  if (xml.slice(at).trim() !== '') problems.push('text after the root');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

const points: OverloadPoint[] = overloadSeriesFromRows(rows);
const svg = renderOverloadSvg(points);

/** The polyline of `lib` as [x, y] pairs. */
function line(lib: string, of = svg): [number, number][] {
  const match = new RegExp(`<polyline class="series" data-lib="${lib}" points="([^"]*)"`).exec(of);
  expect(match, `no line for ${lib}`).not.toBeNull();
  return match![1]!.split(' ').map((xy) => xy.split(',').map(Number) as [number, number]);
}

describe('bench report: the overload chart', () => {
  it('is well-formed SVG of about 720x400', () => {
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="400"')).toBe(
      true,
    );
    expect(svg).toContain('viewBox="0 0 720 400"');
    expect(svg.endsWith('</svg>\n')).toBe(true);
  });

  it('(the well-formedness check itself rejects broken markup)', () => {
    expect(checkWellFormed('<svg><g></svg>')).not.toEqual([]);
    expect(checkWellFormed('<svg a="1" a="2"/>')).not.toEqual([]);
    expect(checkWellFormed('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(checkWellFormed('<svg x=1/>')).not.toEqual([]);
    expect(checkWellFormed('<svg/><svg/>')).not.toEqual([]);
    expect(checkWellFormed('<svg><text>a &amp; b</text></svg>')).toEqual([]);
  });

  it('is deterministic: the same points give the same bytes, whatever their order', () => {
    expect(renderOverloadSvg(points)).toBe(svg);
    const shuffled = series.flatMap(([lib]) => [...points.filter((p) => p.lib === lib)].reverse());
    expect(renderOverloadSvg(shuffled)).toBe(svg);
  });

  it('uses generic fonts and nothing external', () => {
    expect(svg).not.toMatch(/url\(|@import|@font-face|<image|href=|<script/);
    const families = [...svg.matchAll(/font-family="([^"]*)"/g)].map((m) => m[1]);
    expect(families.length).toBeGreaterThan(0);
    for (const f of families) expect(['sans-serif', 'monospace']).toContain(f);
  });

  it('draws one line per library, a dot per point, with axis labels and a legend', () => {
    for (const [lib] of series) {
      expect(line(lib)).toHaveLength(4);
      expect(svg).toContain(`font-weight="bold" fill="#1f2937">${seriesLabel(lib)}</text>`);
    }
    expect(svg.match(/<circle /g)).toHaveLength(16 + 4);
    expect(svg).toContain('>messages produced (log scale)</text>');
    expect(svg).toContain('>peak heap above start, MB (log scale)</text>');
    for (const label of SIZES) expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('>4.10 MB at 1M</text>');
    expect(svg).toContain('>+0.20 MB from 100k</text>');
  });

  it('puts x in message order and higher heaps higher up, within the plot', () => {
    for (const [lib] of series) {
      const xy = line(lib);
      for (let i = 1; i < xy.length; i++) expect(xy[i]![0]).toBeGreaterThan(xy[i - 1]![0]);
      for (const [x, y] of xy) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(720);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(400);
      }
    }
    const at1M = (lib: string) => line(lib)[3]![1];
    expect(at1M('workerPool')).toBeGreaterThan(at1M('mergeMap'));
    expect(at1M('mergeMap')).toBeGreaterThan(at1M('fastq'));
    expect(at1M('fastq')).toBeGreaterThan(at1M('p-queue'));
  });

  it('draws a constant heap as a flat line, and equal growth ratios as parallel lines', () => {
    const flat = renderOverloadSvg(
      [100_000, 1_000_000].flatMap((n) => [
        { lib: 'workerPool', n, peakHeapBytes: 4 * MB },
        { lib: 'a', n, peakHeapBytes: (n / 100_000) * 10 * MB },
        { lib: 'b', n, peakHeapBytes: (n / 100_000) * 100 * MB },
      ]),
    );
    expect(checkWellFormed(flat)).toEqual([]);
    const [p0, p1] = line('workerPool', flat);
    expect(p0![1]).toBe(p1![1]);
    const rise = (lib: string) => line(lib, flat)[0]![1] - line(lib, flat)[1]![1];
    expect(rise('a')).toBeGreaterThan(0);
    expect(rise('a')).toBeCloseTo(rise('b'), 0);
  });

  it("says which line is lossy, and draws the lossless workerPool 'block' line beside it", () => {
    const both = renderOverloadSvg(
      [100_000, 1_000_000].flatMap((n) => [
        { lib: 'workerPool', n, peakHeapBytes: 4 * MB },
        { lib: 'workerPool block', n, peakHeapBytes: 3 * MB },
        { lib: 'mergeMap', n, peakHeapBytes: (n / 100_000) * 10 * MB },
      ]),
    );
    expect(checkWellFormed(both)).toEqual([]);
    expect(both).toContain(
      ">Peak heap under overload, 4 workers: only workerPool 'drop' loses messages</text>",
    );
    expect(both).toContain("workerPool 'block' fed by fromIterable");
    expect(both).toContain(">workerPool 'drop'</text>");
    expect(both).toContain(">workerPool 'block'</text>");
    expect(line('workerPool block', both)).toHaveLength(2);
    const strokes = [...both.matchAll(/class="series" data-lib="([^"]+)"[^>]*stroke="([^"]+)"/g)];
    expect(new Set(strokes.map((m) => m[2])).size).toBe(3);
  });

  it('escapes library names and refuses to draw nothing', () => {
    const odd = renderOverloadSvg([{ lib: 'a<b>&"c"', n: 1000, peakHeapBytes: MB }]);
    expect(checkWellFormed(odd)).toEqual([]);
    expect(odd).toContain('a&lt;b&gt;&amp;&quot;c&quot;');
    expect(() => renderOverloadSvg([])).toThrow(RangeError);
  });
});

describe('bench report: the committed page and chart', () => {
  const docs = new URL('../docs/', import.meta.url);

  it('docs/performance.md embeds the chart and has no ```ts block', () => {
    const committed = readFileSync(new URL('performance.md', docs), 'utf8');
    expect(committed).toContain('](performance-overload.svg)');
    expect(committed).not.toMatch(/```(?:ts|typescript)\n/);
  });

  it('docs/performance-overload.svg is well-formed', () => {
    const committed = readFileSync(new URL('performance-overload.svg', docs), 'utf8');
    expect(checkWellFormed(committed)).toEqual([]);
    expect(committed).toContain('data-lib="workerPool"');
    expect(committed).toContain('data-lib="mergeMap"');
  });
});
