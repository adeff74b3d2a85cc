/**
 * Argument checks with one message template: `<where>: <name> must be <expected>, got <given>`.
 * They throw at the point of the mistake, at construction, never later on a hot path.
 */

/** A short, safe description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return String(value);
  }
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

function fail(
  kind: typeof RangeError | typeof TypeError,
  where: string,
  name: string,
  expected: string,
  given: unknown,
): never {
  throw new kind(`${where}: ${name} must be ${expected}, got ${describe(given)}`);
}

/** A whole number >= 1, or `Infinity` when `allowInfinity`. */
export function checkCapacity(
  where: string,
  name: string,
  value: unknown,
  allowInfinity = true,
): number {
  const expected = allowInfinity ? 'a whole number >= 1 or Infinity' : 'a whole number >= 1';
  if (typeof value !== 'number') fail(TypeError, where, name, expected, value);
  if (value === Number.POSITIVE_INFINITY && allowInfinity) return value;
  if (!Number.isInteger(value) || value < 1) fail(RangeError, where, name, expected, value);
  return value;
}

/** A whole number >= min. */
export function checkInteger(where: string, name: string, value: unknown, min: number): number {
  const expected = `a whole number >= ${min}`;
  if (typeof value !== 'number') fail(TypeError, where, name, expected, value);
  if (!Number.isInteger(value) || value < min) fail(RangeError, where, name, expected, value);
  return value;
}

/** A finite number >= 0 (a duration in milliseconds). */
export function checkDuration(
  where: string,
  name: string,
  value: unknown,
  allowInfinity = false,
): number {
  const expected = allowInfinity
    ? 'a number of milliseconds >= 0 or Infinity'
    : 'a finite number of milliseconds >= 0';
  if (typeof value !== 'number') fail(TypeError, where, name, expected, value);
  if (value === Number.POSITIVE_INFINITY && allowInfinity) return value;
  if (!Number.isFinite(value) || value < 0) fail(RangeError, where, name, expected, value);
  return value;
}

/** A number within [min, max]. */
export function checkRange(
  where: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  const expected = `a number from ${min} to ${max}`;
  if (typeof value !== 'number') fail(TypeError, where, name, expected, value);
  if (Number.isNaN(value) || value < min || value > max)
    fail(RangeError, where, name, expected, value);
  return value;
}

/** A function, or undefined when optional. */
export function checkFunction<F>(
  where: string,
  name: string,
  value: unknown,
  optional: true,
): F | undefined;
export function checkFunction<F>(where: string, name: string, value: unknown, optional?: false): F;
export function checkFunction<F>(
  where: string,
  name: string,
  value: unknown,
  optional = false,
): F | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'function') fail(TypeError, where, name, 'a function', value);
  return value as F;
}

/** One of a fixed set of string literals. */
export function checkOneOf<S extends string>(
  where: string,
  name: string,
  value: unknown,
  allowed: readonly S[],
): S {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(TypeError, where, name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as S;
}

/** A boolean. */
export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(TypeError, where, name, 'true or false', value);
  return value;
}

/**
 * The option names of an options type, checked complete by the compiler: write
 * `optionNames<MyOptions>()({ a: 1, b: 1 })` and a missing or extra name fails to compile.
 */
export function optionNames<O extends object>(): (
  names: Record<keyof O & string, 1>,
) => readonly string[] {
  return (names) => Object.keys(names);
}

/**
 * A plain options object (or undefined). With `known`, a name outside it is refused, with the
 * nearest valid name when one is close: plain JavaScript callers misspell options
 * (`concurency`), and an ignored option is a silent wrong default.
 */
export function checkOptions<O extends object>(
  where: string,
  value: unknown,
  known?: readonly string[],
): Partial<O> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(TypeError, where, 'options', 'an object', value);
  }
  if (known !== undefined) {
    for (const name of Object.keys(value)) {
      if (known.includes(name)) continue;
      const near = nearest(name, known);
      throw new TypeError(
        `${where}: unknown option ${JSON.stringify(name)}` +
          (near === undefined
            ? ` (valid: ${known.join(', ')})`
            : ` (did you mean ${JSON.stringify(near)}?)`),
      );
    }
  }
  return value as Partial<O>;
}

/** The valid name closest to `name` (case-insensitive edit distance), if it is close enough. */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

const SIGNAL_ONLY: readonly string[] = ['signal'];

/**
 * The `signal` of a `{ signal }` options object (the only option of the channels' Promise
 * methods), checked like every option. Throws: a Promise method calls it inside its own
 * try/catch and rejects, so a bad argument never throws synchronously from a Promise API.
 */
export function signalOption(where: string, options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  return checkSignal(
    where,
    checkOptions<{ signal?: AbortSignal }>(where, options, SIGNAL_ONLY).signal,
  );
}

/** An AbortSignal, or undefined. */
export function checkSignal(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    fail(TypeError, where, 'signal', 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

/** An RxJS scheduler (anything with `now()` and `schedule()`), or undefined. */
export function checkScheduler<S>(where: string, value: unknown): S | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as { now?: unknown }).now !== 'function' ||
    typeof (value as { schedule?: unknown }).schedule !== 'function'
  ) {
    fail(TypeError, where, 'scheduler', 'an RxJS SchedulerLike', value);
  }
  return value as S;
}

/** The longest message group name a queue accepts. */
export const MAX_GROUP_LENGTH = 256;
/** The lowest and highest message priority (small enough for a store to fold into a score). */
export const MIN_PRIORITY = -1_000_000;
export const MAX_PRIORITY = 1_000_000;

/** A queue message's `group`: a non-empty string of at most 256 characters, or undefined. */
export function checkGroup(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const expected = `a non-empty string of at most ${MAX_GROUP_LENGTH} characters`;
  if (typeof value !== 'string') fail(TypeError, where, 'group', expected, value);
  if (value.length === 0 || value.length > MAX_GROUP_LENGTH) {
    fail(RangeError, where, 'group', expected, value);
  }
  return value;
}

/** A queue message's `priority`: a whole number from -1000000 to 1000000; 0 when undefined. */
export function checkPriority(where: string, value: unknown): number {
  if (value === undefined) return 0;
  const expected = `a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`;
  if (typeof value !== 'number') fail(TypeError, where, 'priority', expected, value);
  if (!Number.isInteger(value) || value < MIN_PRIORITY || value > MAX_PRIORITY) {
    fail(RangeError, where, 'priority', expected, value);
  }
  return value;
}
