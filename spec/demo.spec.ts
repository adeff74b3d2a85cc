import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { filter, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type DemoOptions, defaults, parseFlags } from '../demo/options.js';
import { runDemo } from '../demo/pipeline.js';
import { renderTable } from '../demo/view.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const small: DemoOptions = { ...defaults, count: 300, rate: 0, timeScale: 0.05 };

describe('demo pipeline', () => {
  it('accounts for every order: produced = processed + dropped + dead-lettered', async () => {
    const accounting = await runDemo({ ...small, failureRate: 0.3 }).done;
    expect(accounting.produced).toBe(300);
    expect(accounting.unaccounted).toBe(0);
    expect(accounting.processed + accounting.dropped + accounting.deadLettered).toBe(300);
    expect(accounting.balanced).toBe(true);
    // the flaky service really was flaky, and duplicates really were absorbed
    expect(accounting.retried).toBeGreaterThan(0);
    expect(accounting.deadLettered).toBeGreaterThan(0);
    expect(renderTable(accounting).join('\n')).toMatch(/^balanced: produced 300 = /m);
  });

  for (const policy of ['drop', 'replace', 'error'] as const) {
    it(`balances under the '${policy}' policy, with drops reported`, async () => {
      const accounting = await runDemo({ ...small, policy, capacity: 5 }).done;
      expect(accounting.balanced).toBe(true);
      expect(accounting.dropped).toBeGreaterThan(0);
      expect(accounting.produced).toBe(300);
    });
  }

  it('a graceful stop drains what was accepted and still balances', async () => {
    const run = runDemo({ ...small, count: 100_000, rate: 2000 });
    let stopped = false;
    run.statuses
      .pipe(
        filter((s) => s.kind === 'processed'),
        take(20),
      )
      .subscribe({
        complete: () => {
          run.stop(); // like the first Ctrl-C, once 20 orders went through
          stopped = true;
        },
      });
    const accounting = await run.done;
    expect(stopped).toBe(true);
    expect(accounting.interrupted).toBe(true);
    expect(accounting.produced).toBeLessThan(100_000);
    expect(accounting.processed).toBeGreaterThanOrEqual(20);
    expect(accounting.balanced).toBe(true);
  });
});

describe('demo flags', () => {
  it('parses every flag', () => {
    expect(
      parseFlags([
        '--count',
        '10',
        '--rate=5',
        '--policy',
        'drop',
        '--capacity',
        '3',
        '--concurrency',
        '2',
        '--failure-rate',
        '0.5',
        '--seed',
        '7',
      ]),
    ).toEqual({
      ...defaults,
      count: 10,
      rate: 5,
      policy: 'drop',
      capacity: 3,
      concurrency: 2,
      failureRate: 0.5,
      seed: 7,
    });
    expect(parseFlags(['--help'])).toBe('help');
  });

  it('rejects bad flags with a clear message', () => {
    expect(() => parseFlags(['--policy', 'fast'])).toThrow(
      '--policy must be one of block, drop, replace, error, got fast',
    );
    expect(() => parseFlags(['--count', '0'])).toThrow(
      '--count must be a whole number >= 1, got 0',
    );
    expect(() => parseFlags(['--failure-rate', '2'])).toThrow(
      '--failure-rate must be a number from 0 to 0.9, got 2',
    );
    expect(() => parseFlags(['--nope', '1'])).toThrow('unknown flag --nope');
    expect(() => parseFlags(['--count'])).toThrow('--count needs a value');
  });
});

describe('npm run demo', () => {
  const exec = promisify(execFile);
  const demo = (...args: string[]) =>
    exec(process.execPath, ['--import', 'tsx', join(root, 'demo', 'main.ts'), ...args], {
      cwd: root,
    });

  it('runs end to end and prints a balanced table', async () => {
    const { stdout } = await demo('--count', '200', '--rate', '0');
    expect(stdout).toMatch(/^Accounting/m);
    expect(stdout).toMatch(
      /^balanced: produced 200 = processed \d+ \+ dropped \d+ \+ dead-lettered \d+$/m,
    );
  });

  it('--help lists the flags', async () => {
    const { stdout } = await demo('--help');
    for (const flag of [
      '--count',
      '--rate',
      '--policy',
      '--capacity',
      '--concurrency',
      '--failure-rate',
      '--seed',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it('a bad flag exits with status 2 and says why', async () => {
    await expect(demo('--policy', 'sometimes')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--policy must be one of'),
    });
  });
});
