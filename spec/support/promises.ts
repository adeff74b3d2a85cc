/**
 * Helpers for testing Promise APIs deterministically: no sleeps, no timing windows. A test
 * decides the order of events itself and looks at a promise's state without awaiting it.
 */

/** Lets every promise callback queued so far run (a few microtask turns). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** What became of a promise so far, read without awaiting it. */
export interface Tracked<T> {
  status: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
}

/** Tracks a promise's outcome; check `status` after `flush()`. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { status: 'pending' };
  promise.then(
    (value) => {
      state.status = 'resolved';
      state.value = value;
    },
    (error: unknown) => {
      state.status = 'rejected';
      state.error = error;
    },
  );
  return state;
}

/** The exception `fn` throws; fails the test if it throws none. */
export function caught(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
