import { checkDuration, checkOptions, checkRange, describe, optionNames } from './validate.js';

/** The fields of a `Backoff` option, as this module reads them (the public type has the docs). */
interface BackoffFields {
  readonly initial?: number;
  readonly factor?: number;
  readonly max?: number;
  readonly jitter?: number;
}

const BACKOFF_FIELDS = optionNames<BackoffFields>()({ initial: 1, factor: 1, max: 1, jitter: 1 });

/** A checked exponential backoff: the delay after `n` failed attempts is `delayAfter(n)`. */
export interface BackoffPlan {
  readonly initial: number;
  readonly factor: number;
  readonly max: number;
  readonly jitter: number;
}

/** A constant delay, as a plan. */
export function constantBackoff(delay: number): BackoffPlan {
  return { initial: delay, factor: 1, max: delay, jitter: 0 };
}

/**
 * Reads a `backoff` option given as a number (a constant delay) or a `Backoff` object, with
 * the defaults of an object's missing fields (initial 1000, factor 2, max 30000 or initial,
 * jitter 0). `name` names the option in errors.
 */
export function backoffPlan(where: string, name: string, value: unknown): BackoffPlan {
  if (typeof value === 'number') return constantBackoff(checkDuration(where, name, value));
  const b = checkOptions<BackoffFields>(`${where}: ${name}`, value, BACKOFF_FIELDS);
  const initial =
    b.initial === undefined ? 1000 : checkDuration(where, `${name}.initial`, b.initial);
  return {
    initial,
    factor:
      b.factor === undefined
        ? 2
        : checkRange(where, `${name}.factor`, b.factor, 1, Number.POSITIVE_INFINITY),
    max:
      b.max === undefined ? Math.max(30_000, initial) : checkDuration(where, `${name}.max`, b.max),
    jitter: b.jitter === undefined ? 0 : checkRange(where, `${name}.jitter`, b.jitter, 0, 1),
  };
}

/**
 * The delay after `failed` failed attempts (`failed >= 1`):
 * `min(max, initial * factor ** (failed - 1)) * (1 - jitter * random())`.
 * @throws RangeError when `random()` returns anything but a number from 0 to 1.
 */
export function backoffDelay(
  where: string,
  plan: BackoffPlan,
  failed: number,
  random: () => number,
): number {
  const { initial, factor, max, jitter } = plan;
  let delay = initial === 0 ? 0 : Math.min(max, initial * factor ** (failed - 1));
  if (jitter > 0) {
    const r = random();
    if (!(r >= 0 && r <= 1)) {
      throw new RangeError(
        `${where}: random() must return a number from 0 to 1, got ${describe(r)}`,
      );
    }
    delay *= 1 - jitter * r;
  }
  return delay;
}
