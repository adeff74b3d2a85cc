import type { OverflowPolicy } from '../src/index.js';

/** Everything the demo can be told, from flags or from a test. */
export interface DemoOptions {
  /** Orders the storefront produces. */
  readonly count: number;
  /** Orders per second; 0 produces as fast as the channel accepts them. */
  readonly rate: number;
  /** Overflow policy of the orders channel. */
  readonly policy: OverflowPolicy;
  /** Capacity of the orders channel. */
  readonly capacity: number;
  /** Pricing workers at the start; it changes while the demo runs (a watch channel). */
  readonly concurrency: number;
  /** Share of payment attempts that fail or ack too late, 0 to 1. */
  readonly failureRate: number;
  /** Seed of every random choice: the same seed gives the same story. */
  readonly seed: number;
  /** Multiplies every simulated delay; tests run the demo with a small one. */
  readonly timeScale: number;
}

export const defaults: DemoOptions = {
  count: 3000,
  rate: 800,
  policy: 'block',
  capacity: 100,
  concurrency: 8,
  failureRate: 0.2,
  seed: 42,
  timeScale: 1,
};

const POLICIES: readonly OverflowPolicy[] = ['block', 'drop', 'replace', 'error'];

export const usage = `Usage: npm run demo -- [flags]

An order pipeline in memory: a storefront produces orders into a bounded channel, a worker pool
prices them, a flaky payment service charges them through at-least-once delivery (retries,
dead letters) and charges each order once (idempotent), a message queue buffers them for
shipping, and every status fans out to several sinks. Ctrl-C drains; a second Ctrl-C exits.

Flags:
  --count N          orders to produce                          (default ${defaults.count})
  --rate N           orders per second, 0 for as fast as allowed (default ${defaults.rate})
  --policy P         orders channel overflow: block, drop, replace, error (default ${defaults.policy})
  --capacity N       orders channel capacity                    (default ${defaults.capacity})
  --concurrency N    pricing workers at the start               (default ${defaults.concurrency})
  --failure-rate F   payment attempts that fail or ack late, 0-1 (default ${defaults.failureRate})
  --seed N           random seed                                (default ${defaults.seed})
  --help             this text

Keys (in a terminal): + and - change the number of pricing workers while it runs.`;

/** Parses command-line flags; throws an Error with a clear message for a bad one. */
export function parseFlags(argv: readonly string[]): DemoOptions | 'help' {
  const options: { -readonly [K in keyof DemoOptions]: DemoOptions[K] } = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') return 'help';
    const [name, inline] = flag.split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${name} needs a value (see --help)`);
    const number = (min: number, max = Number.POSITIVE_INFINITY, whole = true) => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
        const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
        throw new Error(
          `${name} must be ${whole ? 'a whole number' : 'a number'} ${range}, got ${value}`,
        );
      }
      return n;
    };
    switch (name) {
      case '--count':
        options.count = number(1);
        break;
      case '--rate':
        options.rate = number(0, Number.POSITIVE_INFINITY, false);
        break;
      case '--policy':
        if (!POLICIES.includes(value as OverflowPolicy)) {
          throw new Error(`--policy must be one of ${POLICIES.join(', ')}, got ${value}`);
        }
        options.policy = value as OverflowPolicy;
        break;
      case '--capacity':
        options.capacity = number(1);
        break;
      case '--concurrency':
        options.concurrency = number(1, 256);
        break;
      case '--failure-rate':
        options.failureRate = number(0, 0.9, false);
        break;
      case '--seed':
        options.seed = number(0);
        break;
      default:
        throw new Error(`unknown flag ${name} (see --help)`);
    }
  }
  return options;
}
