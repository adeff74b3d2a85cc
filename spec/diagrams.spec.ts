import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../scripts/diagrams/readme.js';
import { boundedScenario, scenarios } from '../scripts/diagrams/scenarios.js';
import { renderSvg } from '../scripts/diagrams/svg.js';
import { type Diagram, describeDiagram, record } from '../scripts/diagrams/timeline.js';

const dir = fileURLToPath(new URL('../docs/diagrams/', import.meta.url));

/**
 * A marble in `describeRow` form, so a recorded row can be compared with the marble the
 * operator specs use: `fromMarble('-a-(b|)')` is `'1:a 3:b 3:|'`. Each character is one frame
 * (a group's parentheses too, as in RxJS); `#` is an error labelled `error`.
 */
function fromMarble(marble: string, error = ''): string {
  const marks: string[] = [];
  let frame = 0;
  let group = -1;
  for (const c of marble) {
    const at = group >= 0 ? group : frame;
    if (c === '(') group = frame;
    else if (c === ')') group = -1;
    else if (c === '|') marks.push(`${at}:|`);
    else if (c === '#') marks.push(`${at}:#${error}`);
    else if (c !== '-') marks.push(`${at}:${c}`);
    frame++;
  }
  return marks.join(' ');
}

const recorded = new Map<string, Diagram>(scenarios.map((s) => [s.name, record(s)]));
const rows = (name: string) => describeDiagram(recorded.get(name)!);

describe('diagrams: the committed SVGs are what the scenarios draw now', () => {
  for (const scenario of scenarios) {
    it(`docs/diagrams/${scenario.name}.svg`, () => {
      const svg = renderSvg(recorded.get(scenario.name)!);
      let committed = '';
      try {
        committed = readFileSync(`${dir}${scenario.name}.svg`, 'utf8');
      } catch {
        // missing: reported by the comparison below
      }
      expect(
        svg === committed,
        `docs/diagrams/${scenario.name}.svg is out of date: run \`npm run diagrams\` and commit the result`,
      ).toBe(true);
    });
  }

  it('docs/diagrams/README.md lists every diagram with its caption', () => {
    const readme = renderReadme(scenarios.map((s) => recorded.get(s.name)!));
    expect(
      readme === readFileSync(`${dir}README.md`, 'utf8'),
      'docs/diagrams/README.md is out of date: run `npm run diagrams` and commit the result',
    ).toBe(true);
    for (const s of scenarios) expect(readme).toContain(`](${s.name}.svg)`);
  });

  it('has no SVG left over from a scenario that no longer exists', () => {
    const names = new Set(scenarios.map((s) => `${s.name}.svg`));
    const stale = readdirSync(dir).filter((f) => f.endsWith('.svg') && !names.has(f));
    expect(stale, 'delete these, or run `npm run diagrams` after restoring their scenario').toEqual(
      [],
    );
  });

  it('scenario names are unique', () => {
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  });
});

describe('diagrams: rendering', () => {
  it('is deterministic: a second recording renders the same bytes', () => {
    for (const scenario of scenarios) {
      expect(renderSvg(record(scenario))).toBe(renderSvg(recorded.get(scenario.name)!));
    }
  });

  it('uses integer coordinates, a monospace font and nothing external', () => {
    for (const diagram of recorded.values()) {
      const svg = renderSvg(diagram);
      const numbers = [...svg.matchAll(/ (?:x|y|x1|y1|x2|y2|width|height)="([^"]*)"/g)];
      expect(numbers.length).toBeGreaterThan(0);
      for (const [, n] of numbers) expect(n, diagram.name).toMatch(/^-?\d+$/);
      expect(svg).toContain('font-family="monospace"');
      expect(svg).not.toMatch(/NaN|undefined|href|@import|url\(/);
    }
  });

  it('escapes labels', () => {
    const svg = renderSvg({
      name: 'x',
      title: 'a < b & "c"',
      caption: '',
      rows: [{ name: 'r', role: 'output', marks: [{ kind: 'next', frame: 0, label: '<&>' }] }],
    });
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).toContain('&lt;&amp;&gt;');
    expect(svg).not.toContain('<&>');
  });
});

describe('diagrams: what each scenario recorded', () => {
  it('bounded, drop: d is discarded and reported (spec/operators/bounded.spec.ts)', () => {
    expect(rows('bounded-drop')).toEqual({
      source: fromMarble('-abcd|'),
      worker: '1-5:a 5-9:b 9-13:c',
      onOverflow: '4:drop d',
      output: fromMarble('----a---b---c|'),
    });
  });

  it('bounded, replace: the oldest buffered (b) is discarded and reported', () => {
    expect(rows('bounded-replace')).toEqual({
      source: fromMarble('-abcd|'),
      worker: '1-5:a 5-9:c 9-13:d',
      onOverflow: '4:replace b',
      output: fromMarble('----a---c---d|'),
    });
  });

  it("bounded, block: the output fails with d after b and c have run; 'error' records the same", () => {
    const expected = {
      source: fromMarble('-abcd|'),
      worker: '1-5:a 5-9:b 9-13:c',
      output: fromMarble('----a---b---c#', 'ChannelFullError(d)'),
    };
    expect(rows('bounded-block')).toEqual(expected);
    expect(describeDiagram(record(boundedScenario('error')))).toEqual(expected);
  });

  it('workerPool: unordered emits B first, ordered holds it until A', () => {
    expect(rows('workerPool-ordered')).toEqual({
      source: fromMarble('ab|'),
      'worker 0': '0-6:a',
      'worker 1': '1-3:b',
      unordered: fromMarble('--B--A|'),
      ordered: fromMarble('-----A(B|)'),
    });
  });

  it('workerPool: c waits for a free worker', () => {
    expect(rows('workerPool-concurrency')).toEqual({
      source: fromMarble('-a-b-c-d-|'),
      'worker 0': '1-6:a 6-11:c',
      'worker 1': '3-8:b 8-13:d',
      output: fromMarble('-----A-B--C-D|'),
    });
  });

  it('broadcast: the subscriber gets everything, the pull consumer skips and reports', () => {
    expect(rows('broadcast-lag')).toEqual({
      'tx.send': fromMarble('-abcdefg|'),
      subscribe: fromMarble('-abcdefg|'),
      worker: '1-4:a 4-7:c 7-10:f 10-13:g',
      onLag: '4:skipped 1 7:skipped 2',
      'pull consumer': fromMarble('---a--c--f--g|'),
    });
  });

  it('atLeastOnce: acks in time', () => {
    expect(rows('atLeastOnce-ack')).toEqual({
      source: fromMarble('-a---b--|'),
      attempts: '1-3:a#1 ack 5-7:b#1 ack',
      output: '3:a#1 7:b#1 8:|',
    });
  });

  it('atLeastOnce: timeout, backoff 2 then 4, a stale ack ignored', () => {
    expect(rows('atLeastOnce-retry')).toEqual({
      source: fromMarble('-a|'),
      attempts: '1-4:a#1 timeout 6-8:a#2 error 12-14:a#3 ack',
      onRetry: '4:timeout, wait 2 8:error, wait 4',
      onStaleAck: '9:late ack of #1',
      output: '14:a#3 14:|',
    });
  });

  it('atLeastOnce: a dead letter after 3 attempts frees the slot for b', () => {
    expect(rows('atLeastOnce-dead-letter')).toEqual({
      source: fromMarble('-ab|'),
      attempts: '1-3:a#1 error 4-6:a#2 error 7-9:a#3 error 9-11:b#1 ack',
      onRetry: '3:wait 1 6:wait 1',
      deadLetter: '9:a after 3',
      output: '11:b#1 11:|',
    });
  });

  it('dedupe: the duplicate inside the window is dropped, the one after it passes', () => {
    expect(rows('dedupe-ttl')).toEqual({
      source: fromMarble('a-b-a-----a-|'),
      onDuplicate: '4:dropped a',
      'key a': '0-6:remembered 10-16:remembered',
      'key b': '2-8:remembered',
      output: fromMarble('a-b-------a-|'),
    });
  });

  it('MessageQueue: the lease expires at 5, the stale receipt is refused, the new one acks', () => {
    expect(rows('queue-lease')).toEqual({
      producer: '0:enqueue a',
      'consumer 1': '1:dequeue a#1 7:ack(receipt 1): stale',
      leases: '1-5:a#1 expired 6-9:a#2 acked',
      queue: '5:lease 1 expired: a visible',
      'consumer 2': '6:dequeue a#2 9:ack(receipt 2): ok',
    });
  });

  it('rateLimit: c and d wait until a and b have left the window', () => {
    expect(rows('rateLimit-window')).toEqual({
      source: fromMarble('abcd-----|'),
      'counts in the window': '0-5:a 1-6:b 5-10:c 6-11:d',
      output: fromMarble('ab---cd--|'),
    });
  });

  it('batch: full at 2, [d] by its timer at 7, [e] at the end', () => {
    expect(rows('batch-size-time')).toEqual({
      source: fromMarble('abcd-----e|'),
      output: '2:[a,b,c] 7:[d] 10:[e] 10:|',
    });
  });

  it('fromMarble reads groups and errors like RxJS', () => {
    expect(fromMarble('-a-(b|)')).toBe('1:a 3:b 3:|');
    expect(fromMarble('--#', 'boom')).toBe('2:#boom');
  });
});
