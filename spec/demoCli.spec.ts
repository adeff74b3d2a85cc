/**
 * The demo's command line: flags parsed by node:util parseArgs with clear messages, --help that
 * agrees with validation and with what the keys and the autoscaler do, the header's last frame,
 * and the exit status after Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  AMQP_DEFAULT_URL,
  CONCURRENCY_MAX,
  type DemoOptions,
  defaults,
  FAILURE_RATE_MAX,
  parseFlags,
  usage,
} from '../demo/options.js';
import { runDemo } from '../demo/pipeline.js';
import { renderLive, renderPlain } from '../demo/view.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('demo flags', () => {
  it('says an unknown flag is unknown, with or without a value after it', () => {
    expect(() => parseFlags(['--bogus'])).toThrow('unknown flag --bogus (see --help)');
    expect(() => parseFlags(['--bogus', '1'])).toThrow('unknown flag --bogus');
    expect(() => parseFlags(['--bogus=1'])).toThrow('unknown flag --bogus');
    expect(() => parseFlags(['--count', '5', '-x'])).toThrow('unknown flag -x');
  });

  it('says which flag needs a value, also when the next word is another flag', () => {
    expect(() => parseFlags(['--count'])).toThrow('--count needs a value (see --help)');
    expect(() => parseFlags(['--count', '--rate', '5'])).toThrow('--count needs a value');
    expect(() => parseFlags(['--failure-rate'])).toThrow('--failure-rate needs a value');
  });

  it('refuses a word that is not a flag', () => {
    expect(() => parseFlags(['drop'])).toThrow('unexpected argument drop');
  });

  it('takes --name=value, the last of a repeated flag, and --help or -h anywhere', () => {
    expect(parseFlags(['--count=5', '--seed', '1', '--count', '7'])).toEqual({
      ...defaults,
      count: 7,
      seed: 1,
    });
    expect(parseFlags([])).toEqual(defaults);
    expect(parseFlags(['--count', '5', '--help'])).toBe('help');
    expect(parseFlags(['--bogus', '-h'])).toBe('help');
  });

  it('rejects empty and non-numeric values with the range it expects', () => {
    expect(() => parseFlags(['--count='])).toThrow('--count must be a whole number >= 1, got ');
    expect(() => parseFlags(['--rate', 'fast'])).toThrow('--rate must be a number >= 0, got fast');
    expect(() => parseFlags(['--concurrency', '1.5'])).toThrow(
      `--concurrency must be a whole number from 1 to ${CONCURRENCY_MAX}, got 1.5`,
    );
  });

  it('--amqp takes a URL, or alone (last, or before another flag) the local RabbitMQ', () => {
    const amqp = (...argv: string[]) => (parseFlags(argv) as DemoOptions).amqp;
    expect(amqp()).toBeUndefined();
    expect(amqp('--amqp')).toBe(AMQP_DEFAULT_URL);
    expect(parseFlags(['--amqp', '--count', '5'])).toEqual({
      ...defaults,
      count: 5,
      amqp: AMQP_DEFAULT_URL,
    });
    expect(amqp('--amqp', 'amqp://user:secret@rabbit:5673/vhost')).toBe(
      'amqp://user:secret@rabbit:5673/vhost',
    );
    expect(amqp('--amqp=amqps://rabbit.example')).toBe('amqps://rabbit.example');
    for (const bad of ['http://rabbit', 'rabbit', '']) {
      expect(() => parseFlags([`--amqp=${bad}`])).toThrow(
        `--amqp must be an amqp:// or amqps:// URL with a host (or nothing, for ${AMQP_DEFAULT_URL}), got ${bad}`,
      );
    }
    expect(() => parseFlags(['--amqp', 'drop'])).toThrow('got drop');
    expect(usage).toMatch(
      /--amqp \[URL\] +payment queue on RabbitMQ, not in memory +\(default in memory\)/,
    );
    expect(usage).toContain(`--amqp alone means ${AMQP_DEFAULT_URL}`);
  });

  it('--help gives the ranges that validation enforces', () => {
    expect(usage).toMatch(
      /--failure-rate F +failing or late payment attempts, 0 to 0\.9 +\(default/,
    );
    expect(FAILURE_RATE_MAX).toBe(0.9);
    const rate = (f: string) => (parseFlags(['--failure-rate', f]) as DemoOptions).failureRate;
    expect(rate('0')).toBe(0);
    expect(rate('0.9')).toBe(0.9);
    expect(() => parseFlags(['--failure-rate', '0.95'])).toThrow(
      '--failure-rate must be a number from 0 to 0.9, got 0.95',
    );
    expect(() => parseFlags(['--failure-rate', '1'])).toThrow('from 0 to 0.9');
    expect(usage).toContain(`pricing workers at the start, 1 to ${CONCURRENCY_MAX}`);
    expect(
      (parseFlags(['--concurrency', String(CONCURRENCY_MAX)]) as DemoOptions).concurrency,
    ).toBe(CONCURRENCY_MAX);
    expect(() => parseFlags(['--concurrency', String(CONCURRENCY_MAX + 1)])).toThrow(
      `from 1 to ${CONCURRENCY_MAX}`,
    );
  });

  it('--help explains the autoscaler, the keys, Ctrl-C and the exit status', () => {
    expect(usage).toContain('npm run demo -- [flags]');
    expect(usage).toMatch(/autoscaler watches the orders channel/);
    expect(usage).toMatch(
      /\+ and - add or remove a pricing worker and move the autoscaler's floor/,
    );
    expect(usage).toMatch(/exits with status 130/);
  });
});

describe('demo: keys and the autoscaler agree', () => {
  it('a concurrency set like the + key does is the floor the autoscaler keeps', async () => {
    // paced over 20 autoscaler ticks or more, an order at a time, so the orders channel is
    // empty when it looks: without the floor it takes the workers back to --concurrency
    const run = runDemo({ ...defaults, count: 40, rate: 20, timeScale: 0.05 });
    const seen: number[] = [];
    run.statuses
      .pipe(filter((s) => s.kind === 'concurrency'))
      .subscribe(() => seen.push(run.snapshot().concurrency));
    run.setConcurrency(defaults.concurrency + 4); // what pressing + four times does
    await run.done;
    expect(seen[0]).toBe(defaults.concurrency + 4);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(defaults.concurrency + 4);
    expect(run.snapshot().concurrency).toBeGreaterThanOrEqual(defaults.concurrency + 4);
  });

  it('- lowers the workers and the floor: the autoscaler neither undoes it nor goes below', async () => {
    const run = runDemo({ ...defaults, count: 40, rate: 20, timeScale: 0.05 });
    const seen: number[] = [];
    run.statuses
      .pipe(filter((s) => s.kind === 'concurrency'))
      .subscribe(() => seen.push(run.snapshot().concurrency));
    run.setConcurrency(defaults.concurrency - 3); // what pressing - three times does
    await run.done;
    expect(seen[0]).toBe(defaults.concurrency - 3);
    expect(Math.min(...seen)).toBe(defaults.concurrency - 3);
  });
});

describe('demo: the last frame and the exit status', () => {
  const small: DemoOptions = { ...defaults, count: 30, rate: 0, timeScale: 0.05 };

  it('the header no longer says draining once the run is over', async () => {
    const run = runDemo(small);
    run.stop();
    await run.done;
    const snapshot = run.snapshot();
    expect(renderLive(snapshot, small)[0]).toContain('draining (Ctrl-C again to force exit)');
    expect(renderLive(snapshot, small, true)[0]).toMatch(/stopped: drained$/);
    expect(renderLive(snapshot, small, true)[0]).not.toContain('draining');
    expect(renderPlain(snapshot, true)).toMatch(/ stopped: drained$/);

    const finished = runDemo(small);
    await finished.done;
    expect(renderLive(finished.snapshot(), small, true)[0]).toMatch(/finished$/);
  });

  /** Runs the demo, sends `signal` once it has printed its first line, and collects the end. */
  function interrupted(signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'demo', 'main.ts'), '--count', '1000000', '--rate', '500'],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let sent = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (!sent) {
          sent = true;
          child.kill(signal);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
  }

  it('Ctrl-C (SIGINT) drains, prints a balanced table and exits with 130', async () => {
    const { code, stdout } = await interrupted('SIGINT');
    expect(code).toBe(130);
    expect(stdout).toMatch(/^Accounting \(stopped early/m);
    expect(stdout).toMatch(/^balanced: /m);
    const lines = stdout.split('\n').filter((l) => l.startsWith('['));
    expect(lines.at(-1)).toMatch(/ stopped: drained$/);
  }, 60_000);

  it('SIGTERM drains too and exits with 143', async () => {
    const { code, stdout } = await interrupted('SIGTERM');
    expect(code).toBe(143);
    expect(stdout).toMatch(/^balanced: /m);
  }, 60_000);
});
