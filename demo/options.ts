import { parseArgs } from 'node:util';
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
  /** Share of payment attempts that fail or ack too late, 0 to `FAILURE_RATE_MAX`. */
  readonly failureRate: number;
  /** Seed of every random choice: the same seed gives the same story. */
  readonly seed: number;
  /** Multiplies every simulated delay; tests run the demo with a small one. */
  readonly timeScale: number;
  /** RabbitMQ URL: the payment service's queue runs there (through sluice/amqp), not in memory. */
  readonly amqp?: string;
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
/** Above this share of failing payments too few orders get through for the demo to finish. */
export const FAILURE_RATE_MAX = 0.9;
/** The most pricing workers, by flag, by key or by the autoscaler. */
export const CONCURRENCY_MAX = 256;
/** The autoscaler doubles the workers up to this many, never more. */
export const AUTOSCALE_MAX = 64;
/** Where `--amqp` without a URL connects: the local RabbitMQ (guest/guest). */
export const AMQP_DEFAULT_URL = 'amqp://127.0.0.1:5672';

/** One line of --help's flag list: the flag, what it takes, its default, in columns. */
function flagLine(flag: string, what: string, value: string | number): string {
  return `  ${flag.padEnd(19)}${what.padEnd(46)}(default ${value})`;
}

export const usage = `Usage: npm run demo -- [flags]      (the -- passes the flags to the demo, not to npm)

An order pipeline in memory: a storefront produces orders into a bounded channel, a worker pool
prices them, a flaky payment service charges them through at-least-once delivery (retries,
dead letters) and charges each order once (idempotent), a message queue buffers them for
shipping, and every status fans out to several sinks.

Flags:
${[
  flagLine('--count N', 'orders to produce, 1 or more', defaults.count),
  flagLine('--rate N', 'orders per second, 0 for as fast as allowed', defaults.rate),
  flagLine('--policy P', 'channel overflow: block, drop, replace, error', defaults.policy),
  flagLine('--capacity N', 'orders channel capacity, 1 or more', defaults.capacity),
  flagLine(
    '--concurrency N',
    `pricing workers at the start, 1 to ${CONCURRENCY_MAX}`,
    defaults.concurrency,
  ),
  flagLine(
    '--failure-rate F',
    `failing or late payment attempts, 0 to ${FAILURE_RATE_MAX}`,
    defaults.failureRate,
  ),
  flagLine('--seed N', 'random seed, 0 or more', defaults.seed),
  flagLine('--amqp [URL]', 'payment queue on RabbitMQ, not in memory', 'in memory'),
].join('\n')}
                     --amqp alone means ${AMQP_DEFAULT_URL}
  --help, -h         this text

RabbitMQ (--amqp): the payment service's queue becomes a quorum queue, published to with
confirms and consumed through sluice/amqp. Its name is unique to the run (sluice-demo-...) and
it is deleted, with its dead-letter queue and exchange, when the demo ends.

Pricing workers: an autoscaler watches the orders channel. When it is more than 75% full the
workers double (up to ${AUTOSCALE_MAX}); when it is empty they come back down one at a time, never below
a floor, which is --concurrency at the start.

Keys (in a terminal): + and - add or remove a pricing worker and move the autoscaler's floor
with it, so the number you choose stays unless the channel fills up.

Ctrl-C drains: the storefront stops, everything accepted finishes, the accounting is printed,
and the demo exits with status 130 (interrupted). A second Ctrl-C exits at once, also with 130.
A run that finishes by itself exits 0 when its accounting balances, 1 otherwise; bad flags
exit 2.`;

/** The flags, each with how its value is checked and where it goes. */
const FLAGS = {
  count: { type: 'string' },
  rate: { type: 'string' },
  policy: { type: 'string' },
  capacity: { type: 'string' },
  concurrency: { type: 'string' },
  'failure-rate': { type: 'string' },
  seed: { type: 'string' },
  amqp: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flag a `node:util` parseArgs error is about: `'--count <value>'` gives `--count`. */
function flagOf(message: string): string {
  return /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? message;
}

/**
 * Parses command-line flags (`--name value` or `--name=value`); throws an Error with a clear
 * message for an unknown flag, a missing value or a value out of range.
 */
export function parseFlags(argv: readonly string[]): DemoOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  // --amqp takes an optional URL: alone (last, or before another flag) it means the default
  const args = argv.map((arg, i) => {
    const following = argv[i + 1];
    const alone = following === undefined || following.startsWith('-');
    return arg === '--amqp' && alone ? `--amqp=${AMQP_DEFAULT_URL}` : arg;
  });
  let values: { [K in keyof typeof FLAGS]?: string | boolean };
  try {
    ({ values } = parseArgs({ args, options: FLAGS, strict: true }));
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new Error(`unknown flag ${flagOf(message)} (see --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new Error(`${flagOf(message)} needs a value (see --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const argument = /'([^']*)'/.exec(message)?.[1] ?? '';
      throw new Error(`unexpected argument ${argument}: every flag starts with -- (see --help)`);
    }
    throw err;
  }

  const options: { -readonly [K in keyof DemoOptions]: DemoOptions[K] } = { ...defaults };
  const number = (
    flag: keyof typeof FLAGS,
    min: number,
    max = Number.POSITIVE_INFINITY,
    whole = true,
  ): number | undefined => {
    const value = values[flag];
    if (typeof value !== 'string') return undefined;
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
      throw new Error(
        `--${flag} must be ${whole ? 'a whole number' : 'a number'} ${range}, got ${value}`,
      );
    }
    return n;
  };
  options.count = number('count', 1) ?? options.count;
  options.rate = number('rate', 0, Number.POSITIVE_INFINITY, false) ?? options.rate;
  if (typeof values.policy === 'string') {
    if (!POLICIES.includes(values.policy as OverflowPolicy)) {
      throw new Error(`--policy must be one of ${POLICIES.join(', ')}, got ${values.policy}`);
    }
    options.policy = values.policy as OverflowPolicy;
  }
  options.capacity = number('capacity', 1) ?? options.capacity;
  options.concurrency = number('concurrency', 1, CONCURRENCY_MAX) ?? options.concurrency;
  options.failureRate = number('failure-rate', 0, FAILURE_RATE_MAX, false) ?? options.failureRate;
  options.seed = number('seed', 0) ?? options.seed;
  if (typeof values.amqp === 'string') options.amqp = amqpUrl(values.amqp);
  return options;
}

/** Checks `--amqp`'s value: an amqp:// or amqps:// URL with a host. */
function amqpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') ||
    !url.hostname
  ) {
    throw new Error(
      `--amqp must be an amqp:// or amqps:// URL with a host (or nothing, for ${AMQP_DEFAULT_URL}), got ${value}`,
    );
  }
  return value;
}
