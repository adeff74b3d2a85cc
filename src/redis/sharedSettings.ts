/**
 * The settings every handle of one Redis queue must agree on (internal to `sluice/redis`).
 *
 * Each process sends its settings with every script call, so a handle configured differently
 * from the others would apply its own rules to everyone's messages (a `deadLetter.capacity`
 * of 1 would evict the whole dead-letter stream of the queue). The first call of a handle
 * stores the shared settings in `Q:cfg` when they are not stored yet, and compares: a handle
 * whose settings differ is refused, every call rejecting with an error naming each difference.
 *
 * Shared: `capacity`, `maxAttempts`, `dedupWindow`, `deadLetter.capacity`. Per process (each
 * handle may choose its own): `visibilityTimeout` (the lease a handle's deliveries get, like
 * SQS's per-receive visibility timeout), `overflow`, `onOverflow`, `deadLetter.onEvict`,
 * `serializer`, `consumer`, `clock`, `scheduler` and `blockTime`.
 * @module
 */
import { RedisSettingsError } from './redisSettingsError.js';

/** The shared settings, in the form stored in Redis (`-1` for Infinity). */
export type SharedSettings = Readonly<Record<SharedSettingName, string>>;

/** The names of the shared settings, as the options spell them. */
export const SHARED_SETTINGS = [
  'capacity',
  'maxAttempts',
  'dedupWindow',
  'deadLetter.capacity',
] as const;

/** One of `SHARED_SETTINGS`. */
export type SharedSettingName = (typeof SHARED_SETTINGS)[number];

function shown(value: string | undefined): string {
  if (value === undefined) return 'not stored';
  return value === '-1' ? 'Infinity' : value;
}

const refusals = new WeakSet<Error>();

/** True for the error `settingsMismatch` made: passed on as it is, never wrapped. */
export function isSettingsRefusal(error: unknown): boolean {
  return error instanceof Error && refusals.has(error);
}

/**
 * The error for a handle whose settings differ from the stored ones, or undefined when they
 * agree. `stored` is the flat HGETALL reply of `Q:cfg`.
 */
export function settingsMismatch(
  where: string,
  queue: string,
  mine: SharedSettings,
  stored: readonly string[],
): RedisSettingsError | undefined {
  const theirs = new Map<string, string>();
  for (let i = 0; i + 1 < stored.length; i += 2) theirs.set(stored[i]!, stored[i + 1]!);
  const differences: string[] = [];
  for (const name of SHARED_SETTINGS) {
    if (theirs.get(name) !== mine[name]) {
      differences.push(`${name} is ${shown(mine[name])} here, ${shown(theirs.get(name))} in Redis`);
    }
  }
  if (differences.length === 0) return undefined;
  const refusal = new RedisSettingsError(where, queue, SHARED_SETTINGS, differences);
  refusals.add(refusal);
  return refusal;
}

/**
 * Runs the settings check once per handle: `ready()` is undefined once the settings agreed,
 * else a promise of the check (shared by the calls waiting for it). A failed call to Redis is
 * tried again by the next call; a mismatch refuses every later call.
 */
export class SettingsGate {
  private agreed = false;
  private pending: Promise<void> | undefined = undefined;
  private refusal: Error | undefined = undefined;

  constructor(private readonly check: () => Promise<Error | undefined>) {}

  /** Undefined when the settings agreed; otherwise the check to await first. */
  ready(): Promise<void> | undefined {
    if (this.agreed) return undefined;
    if (this.refusal !== undefined) return Promise.reject(this.refusal);
    this.pending ??= this.check().then(
      (mismatch) => {
        this.pending = undefined;
        if (mismatch === undefined) this.agreed = true;
        else {
          this.refusal = mismatch;
          throw mismatch;
        }
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }
}
